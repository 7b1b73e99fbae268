"""Statistics over runs: paired comparison of two evaluations and a metric's history.

Pure functions over store records, shared by the REST routes and the Python client, written
with the standard library only (no scipy in the base install).
"""
