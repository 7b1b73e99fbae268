"""The implementation behind ``spanflow.Client`` (public names live in ``spanflow.client``)."""
