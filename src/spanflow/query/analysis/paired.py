"""Paired comparison of two evaluation runs: their subruns matched sample by sample.

Subruns of run A and run B are paired by a key (the subrun name by default, or a param or free
attribute), and for every metric both sides of at least one pair logged the comparison reports
the mean difference B - A with a confidence interval and a paired test: the paired t-test and
Wilcoxon's signed-rank test for scores, McNemar's exact test for pass/fail metrics (every value
0 or 1). Samples whose pass/fail metric or whose status changed are listed as flips.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from spanflow.query.analysis.statistics import (
    mcnemar_exact_p,
    paired_t,
    wilcoxon_signed_rank,
)
from spanflow.query.records import AttributeValue
from spanflow.query.store import RunSummary

PAIR_BY_NAME = "name"
_PAIR_BY_PREFIXES = ("param:", "attr:")
METRIC_KIND_SCORE = "score"
METRIC_KIND_PASS_FAIL = "pass_fail"
STATUS_FLIP = "status"


def check_pair_by(pair_by: str) -> str:
    """``pair_by`` if it is ``name``, ``param:KEY`` or ``attr:KEY``; else ``ValueError``."""
    if pair_by == PAIR_BY_NAME:
        return pair_by
    for prefix in _PAIR_BY_PREFIXES:
        if pair_by.startswith(prefix) and pair_by[len(prefix) :]:
            return pair_by
    raise ValueError(f"pair by 'name', 'param:KEY' or 'attr:KEY', not {pair_by!r}")


@dataclass(frozen=True)
class PairedTest:
    """One paired test: its name, statistic and two-sided p-value."""

    name: str
    statistic: float | None
    p_value: float | None


@dataclass(frozen=True)
class PairedMetric:
    """One metric over the paired samples: means, mean difference B - A, interval and tests."""

    metric: str
    kind: str  # METRIC_KIND_SCORE or METRIC_KIND_PASS_FAIL
    pairs: int
    mean_a: float
    mean_b: float
    mean_difference: float
    ci_low: float | None
    ci_high: float | None
    confidence: float
    tests: tuple[PairedTest, ...]


@dataclass(frozen=True)
class Flip:
    """A sample whose pass/fail metric or status differs between the two runs."""

    key: str
    what: str  # a metric name, or ``status``
    value_a: AttributeValue
    value_b: AttributeValue
    run_id_a: str
    run_id_b: str


@dataclass(frozen=True)
class PairedComparison:
    """Two evaluation runs compared sample by sample."""

    run_a: RunSummary
    run_b: RunSummary
    pair_by: str
    paired: int
    only_in_a: tuple[str, ...]
    only_in_b: tuple[str, ...]
    unkeyed: int  # subruns without the pairing key, left out
    duplicate_keys: tuple[str, ...]  # keys held by several subruns of one run: newest kept
    metrics: tuple[PairedMetric, ...]
    flips: tuple[Flip, ...]


def _sample_key(run: RunSummary, pair_by: str) -> str | None:
    if pair_by == PAIR_BY_NAME:
        return run.name
    kind, _, key = pair_by.partition(":")
    value = (run.params if kind == "param" else run.attributes).get(key)
    return None if value is None else str(value)


def _keyed(
    children: Sequence[RunSummary], pair_by: str
) -> tuple[dict[str, RunSummary], int, set[str]]:
    """Subruns by key (the newest of duplicates), how many had no key, and duplicated keys."""
    newest_first = sorted(children, key=lambda run: (-run.start_time_unix_nano, run.id))
    keyed: dict[str, RunSummary] = {}
    unkeyed = 0
    duplicates: set[str] = set()
    for child in newest_first:
        key = _sample_key(child, pair_by)
        if key is None:
            unkeyed += 1
        elif key in keyed:
            duplicates.add(key)
        else:
            keyed[key] = child
    return keyed, unkeyed, duplicates


def _is_pass_fail(values: Sequence[float]) -> bool:
    return all(value in (0.0, 1.0) for value in values)


def _compare_metric(
    metric: str, pairs: Sequence[tuple[float, float]], confidence: float
) -> PairedMetric:
    a_values = [a for a, _ in pairs]
    b_values = [b for _, b in pairs]
    differences = [b - a for a, b in pairs]
    interval = paired_t(differences, confidence=confidence)
    tests: list[PairedTest]
    if _is_pass_fail(a_values + b_values):
        kind = METRIC_KIND_PASS_FAIL
        only_a = sum(1 for a, b in pairs if a == 1.0 and b == 0.0)
        only_b = sum(1 for a, b in pairs if a == 0.0 and b == 1.0)
        p_value = mcnemar_exact_p(only_a, only_b)
        tests = [PairedTest("mcnemar_exact", float(only_b - only_a), p_value)]
    else:
        kind = METRIC_KIND_SCORE
        tests = [PairedTest("paired_t", interval.t_statistic, interval.p_value)]
        signed_rank = wilcoxon_signed_rank(differences)
        tests.append(
            PairedTest("wilcoxon_signed_rank", signed_rank.w_plus, signed_rank.p_value)
            if signed_rank is not None
            else PairedTest("wilcoxon_signed_rank", None, 1.0)
        )
    count = len(pairs)
    return PairedMetric(
        metric=metric,
        kind=kind,
        pairs=count,
        mean_a=sum(a_values) / count,
        mean_b=sum(b_values) / count,
        mean_difference=interval.mean,
        ci_low=interval.ci_low,
        ci_high=interval.ci_high,
        confidence=confidence,
        tests=tuple(tests),
    )


def compare_paired(
    run_a: RunSummary,
    children_a: Sequence[RunSummary],
    run_b: RunSummary,
    children_b: Sequence[RunSummary],
    *,
    pair_by: str = PAIR_BY_NAME,
    confidence: float = 0.95,
) -> PairedComparison:
    """Pair the subruns of A and B by ``pair_by`` and compare every shared metric."""
    check_pair_by(pair_by)
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie strictly between 0 and 1, not {confidence}")
    keyed_a, unkeyed_a, duplicates_a = _keyed(children_a, pair_by)
    keyed_b, unkeyed_b, duplicates_b = _keyed(children_b, pair_by)
    shared = sorted(keyed_a.keys() & keyed_b.keys())
    metric_names = sorted(
        {name for key in shared for name in keyed_a[key].metrics}
        & {name for key in shared for name in keyed_b[key].metrics}
    )
    metrics: list[PairedMetric] = []
    flips: list[Flip] = []
    for metric in metric_names:
        pairs = [
            (keyed_a[key].metrics[metric], keyed_b[key].metrics[metric], key)
            for key in shared
            if metric in keyed_a[key].metrics and metric in keyed_b[key].metrics
        ]
        if not pairs:
            continue
        result = _compare_metric(metric, [(a, b) for a, b, _ in pairs], confidence)
        metrics.append(result)
        if result.kind == METRIC_KIND_PASS_FAIL:
            flips.extend(
                Flip(key, metric, a, b, keyed_a[key].id, keyed_b[key].id)
                for a, b, key in pairs
                if a != b
            )
    for key in shared:
        a, b = keyed_a[key], keyed_b[key]
        if a.status != b.status:
            flips.append(Flip(key, STATUS_FLIP, a.status, b.status, a.id, b.id))
    return PairedComparison(
        run_a=run_a,
        run_b=run_b,
        pair_by=pair_by,
        paired=len(shared),
        only_in_a=tuple(sorted(keyed_a.keys() - keyed_b.keys())),
        only_in_b=tuple(sorted(keyed_b.keys() - keyed_a.keys())),
        unkeyed=unkeyed_a + unkeyed_b,
        duplicate_keys=tuple(sorted(duplicates_a | duplicates_b)),
        metrics=tuple(metrics),
        flips=tuple(flips),
    )
