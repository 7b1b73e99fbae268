"""spanflow's implementation; the public API is re-exported from ``spanflow``."""
