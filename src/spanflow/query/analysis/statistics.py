"""The few numerical routines paired comparison needs, with the standard library only.

Student's t distribution through the regularized incomplete beta function (Lentz's continued
fraction), its quantiles by bisection, Wilcoxon's signed-rank test (exact distribution for small
samples without ties, the normal approximation with tie correction otherwise), and McNemar's
test as an exact binomial test on the discordant pairs.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

_BETA_EPSILON = 1e-15
_BETA_MAX_ITERATIONS = 500
_TINY = 1e-300
_WILCOXON_EXACT_MAX_N = 50


def _beta_continued_fraction(x: float, a: float, b: float) -> float:
    """The continued fraction of I_x(a, b), evaluated with the modified Lentz method."""
    c = 1.0
    d = 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    result = d
    for m in range(1, _BETA_MAX_ITERATIONS + 1):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > _TINY else _TINY)
            c = 1.0 + numerator / c
            c = c if abs(c) > _TINY else _TINY
            step = c * d
            result *= step
        if abs(step - 1.0) < _BETA_EPSILON:
            break
    return result


def regularized_incomplete_beta(x: float, a: float, b: float) -> float:
    """I_x(a, b) for 0 <= x <= 1 and a, b > 0."""
    if not 0.0 <= x <= 1.0:
        raise ValueError(f"x must lie in [0, 1], not {x}")
    if x in (0.0, 1.0):
        return x
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    front = math.exp(log_front)
    # The fraction converges fast only on this side of the mean; use the symmetry otherwise.
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_continued_fraction(x, a, b) / a
    return 1.0 - front * _beta_continued_fraction(1.0 - x, b, a) / b


def student_t_cdf(t: float, df: float) -> float:
    """P(T <= t) for Student's t with ``df`` degrees of freedom."""
    if df <= 0:
        raise ValueError(f"degrees of freedom must be positive, not {df}")
    if math.isinf(t):
        return 1.0 if t > 0 else 0.0
    tail = 0.5 * regularized_incomplete_beta(df / (df + t * t), df / 2.0, 0.5)
    return 1.0 - tail if t > 0 else tail


def student_t_quantile(probability: float, df: float) -> float:
    """The t with ``student_t_cdf(t, df) == probability`` (bisection to double precision)."""
    if not 0.0 < probability < 1.0:
        raise ValueError(f"probability must lie in (0, 1), not {probability}")
    low, high = -1.0, 1.0
    while student_t_cdf(low, df) > probability:
        low *= 2.0
    while student_t_cdf(high, df) < probability:
        high *= 2.0
    for _ in range(200):
        middle = (low + high) / 2.0
        if middle in (low, high):
            break
        if student_t_cdf(middle, df) < probability:
            low = middle
        else:
            high = middle
    return (low + high) / 2.0


def normal_two_sided_p(z: float) -> float:
    """Two-sided p-value of a standard normal statistic."""
    return math.erfc(abs(z) / math.sqrt(2.0))


@dataclass(frozen=True)
class MeanDifference:
    """The mean of paired differences with its t confidence interval and paired t-test."""

    count: int
    mean: float
    standard_deviation: float | None  # None below two pairs
    ci_low: float | None
    ci_high: float | None
    t_statistic: float | None  # None when undefined (fewer than two pairs, or no spread)
    p_value: float | None


def paired_t(differences: Sequence[float], *, confidence: float = 0.95) -> MeanDifference:
    """Paired t-test and confidence interval of the mean difference (B - A per pair)."""
    count = len(differences)
    if count == 0:
        raise ValueError("a paired t-test needs at least one pair")
    mean = math.fsum(differences) / count
    if count < 2:
        return MeanDifference(count, mean, None, None, None, None, None)
    spread = statistics.stdev(differences)
    if spread == 0.0:
        # Every pair moved by the same amount: the interval is that amount, the test undefined.
        return MeanDifference(count, mean, 0.0, mean, mean, None, None if mean else 1.0)
    standard_error = spread / math.sqrt(count)
    df = count - 1
    half_width = student_t_quantile(0.5 + confidence / 2.0, df) * standard_error
    t_statistic = mean / standard_error
    p_value = 2.0 * student_t_cdf(-abs(t_statistic), df)
    return MeanDifference(
        count, mean, spread, mean - half_width, mean + half_width, t_statistic, min(p_value, 1.0)
    )


@dataclass(frozen=True)
class SignedRankResult:
    """Wilcoxon signed-rank test: W+ (sum of ranks of positive differences) and p-value."""

    nonzero_count: int
    w_plus: float
    p_value: float
    exact: bool


def _signed_rank_counts(n: int) -> list[int]:
    """How many subsets of ranks 1..n sum to each total (the exact null distribution of W+)."""
    counts = [1] + [0] * (n * (n + 1) // 2)
    for rank in range(1, n + 1):
        for total in range(len(counts) - 1, rank - 1, -1):
            counts[total] += counts[total - rank]
    return counts


def _ranks(magnitudes: Sequence[float]) -> list[float]:
    """Ranks 1..n of ``magnitudes``, ties given their average rank."""
    order = sorted(range(len(magnitudes)), key=magnitudes.__getitem__)
    ranks = [0.0] * len(magnitudes)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and magnitudes[order[end + 1]] == magnitudes[order[start]]:
            end += 1
        for position in range(start, end + 1):
            ranks[order[position]] = (start + end) / 2.0 + 1.0
        start = end + 1
    return ranks


def wilcoxon_signed_rank(differences: Sequence[float]) -> SignedRankResult | None:
    """Two-sided Wilcoxon signed-rank test; zero differences are dropped (Wilcoxon's method).

    None when no difference is non-zero (nothing to test).
    """
    nonzero = [d for d in differences if d != 0.0]
    n = len(nonzero)
    if n == 0:
        return None
    magnitudes = [abs(d) for d in nonzero]
    ranks = _ranks(magnitudes)
    w_plus = math.fsum(rank for rank, d in zip(ranks, nonzero, strict=True) if d > 0)
    tied = len(set(magnitudes)) < n
    if not tied and n <= _WILCOXON_EXACT_MAX_N:
        counts = _signed_rank_counts(n)
        total = 1 << n
        smaller = min(w_plus, n * (n + 1) / 2.0 - w_plus)
        tail = sum(counts[: int(smaller) + 1])
        return SignedRankResult(n, w_plus, min(1.0, 2.0 * tail / total), exact=True)
    mean = n * (n + 1) / 4.0
    tie_sizes: dict[float, int] = {}
    for magnitude in magnitudes:
        tie_sizes[magnitude] = tie_sizes.get(magnitude, 0) + 1
    tie_term = sum(size**3 - size for size in tie_sizes.values()) / 48.0
    variance = n * (n + 1) * (2 * n + 1) / 24.0 - tie_term
    if variance <= 0.0:
        return SignedRankResult(n, w_plus, 1.0, exact=False)
    deviation = abs(w_plus - mean) - 0.5  # continuity correction
    z = max(deviation, 0.0) / math.sqrt(variance)
    return SignedRankResult(n, w_plus, normal_two_sided_p(z), exact=False)


def mcnemar_exact_p(only_a: int, only_b: int) -> float:
    """Two-sided exact McNemar p-value from the discordant pairs (passed only in A / only in B).

    Under no difference each discordant pair is a fair coin, so this is a binomial test.
    """
    if only_a < 0 or only_b < 0:
        raise ValueError("discordant pair counts cannot be negative")
    n = only_a + only_b
    if n == 0:
        return 1.0
    smaller = min(only_a, only_b)
    tail = sum(math.comb(n, k) for k in range(smaller + 1))
    return min(1.0, 2.0 * tail / (1 << n))
