"""Fixtures: a real run index, seeded runs, and the query API serving them on loopback."""

from tests.api.fixtures import api_url, index_location, seeded, store

__all__ = ["api_url", "index_location", "seeded", "store"]
