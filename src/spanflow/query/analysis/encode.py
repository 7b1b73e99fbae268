"""JSON shapes of paired comparisons and metric statistics (CLI ``--json`` and the API)."""

from __future__ import annotations

from spanflow.query.analysis.history import MetricStats
from spanflow.query.analysis.paired import PairedComparison
from spanflow.query.codec import (
    JsonObject,
    encode_float,
    encode_run,
    encode_value,
    iso_time,
)


def _number(value: float | None) -> float | str | None:
    return None if value is None else encode_float(value)


def encode_paired(comparison: PairedComparison) -> JsonObject:
    """Both runs, pairing facts, per-metric differences with tests, and the flipped samples."""
    return {
        "run_a": encode_run(comparison.run_a),
        "run_b": encode_run(comparison.run_b),
        "pair_by": comparison.pair_by,
        "paired": comparison.paired,
        "only_in_a": list(comparison.only_in_a),
        "only_in_b": list(comparison.only_in_b),
        "unkeyed": comparison.unkeyed,
        "duplicate_keys": list(comparison.duplicate_keys),
        "metrics": [
            {
                "metric": metric.metric,
                "kind": metric.kind,
                "pairs": metric.pairs,
                "mean_a": _number(metric.mean_a),
                "mean_b": _number(metric.mean_b),
                "mean_difference": _number(metric.mean_difference),
                "ci_low": _number(metric.ci_low),
                "ci_high": _number(metric.ci_high),
                "confidence": metric.confidence,
                "tests": [
                    {
                        "name": test.name,
                        "statistic": _number(test.statistic),
                        "p_value": _number(test.p_value),
                    }
                    for test in metric.tests
                ],
            }
            for metric in comparison.metrics
        ],
        "flips": [
            {
                "key": flip.key,
                "what": flip.what,
                "value_a": encode_value(flip.value_a),
                "value_b": encode_value(flip.value_b),
                "run_id_a": flip.run_id_a,
                "run_id_b": flip.run_id_b,
            }
            for flip in comparison.flips
        ],
    }


def encode_stats(stats: MetricStats) -> JsonObject:
    """The metric, the grouping param, each run's value (oldest first) and each group's summary."""
    return {
        "metric": stats.metric,
        "by": stats.by,
        "values": [
            {
                "run_id": value.run_id,
                "name": value.name,
                "start_time_unix_nano": value.start_time_unix_nano,
                "started_at": iso_time(value.start_time_unix_nano),
                "value": encode_float(value.value),
                "group": value.group,
                "source": value.source,
            }
            for value in stats.values
        ],
        "groups": [
            {
                "group": group.group,
                "count": group.count,
                "mean": encode_float(group.mean),
                "median": encode_float(group.median),
                "stdev": _number(group.stdev),
                "min": encode_float(group.minimum),
                "max": encode_float(group.maximum),
                "first": encode_float(group.first),
                "last": encode_float(group.last),
            }
            for group in stats.groups
        ],
    }
