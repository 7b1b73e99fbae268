"""The numerical routines behind paired comparison, against closed forms and printed tables."""

from __future__ import annotations

import math

import pytest

from spanflow.query.analysis.statistics import (
    mcnemar_exact_p,
    paired_t,
    regularized_incomplete_beta,
    student_t_cdf,
    student_t_quantile,
    wilcoxon_signed_rank,
)


@pytest.mark.parametrize("t", [-30.0, -3.0, -0.5, 0.0, 0.7, 2.0, 12.0])
def test_t_cdf_matches_the_closed_forms_for_one_and_two_degrees_of_freedom(t: float) -> None:
    """With 1 df the t distribution is Cauchy and with 2 df it has an algebraic CDF."""
    assert student_t_cdf(t, 1) == pytest.approx(0.5 + math.atan(t) / math.pi, abs=1e-12)
    assert student_t_cdf(t, 2) == pytest.approx(0.5 + t / (2 * math.sqrt(2 + t * t)), abs=1e-12)


@pytest.mark.parametrize(
    ("df", "quantile"),
    [(1, 12.706204736), (2, 4.302652730), (5, 2.570581836), (10, 2.228138852), (30, 2.042272456)],
)
def test_t_quantile_reproduces_the_printed_table_for_95_percent(df: int, quantile: float) -> None:
    """The 97.5% quantiles match the standard t table to nine digits."""
    assert student_t_quantile(0.975, df) == pytest.approx(quantile, abs=1e-8)
    assert student_t_quantile(0.025, df) == pytest.approx(-quantile, abs=1e-8)


def test_t_cdf_approaches_the_normal_for_many_degrees_of_freedom() -> None:
    """With a million df the t CDF at 1.96 is the normal's 0.975."""
    assert student_t_cdf(1.959963985, 1_000_000) == pytest.approx(0.975, abs=1e-6)


def test_incomplete_beta_is_symmetric_and_bounded() -> None:
    """I_x(a, b) = 1 - I_(1-x)(b, a), with 0 and 1 at the ends, and a bad x refused."""
    value = regularized_incomplete_beta(0.3, 2.5, 4.0)
    assert value == pytest.approx(1 - regularized_incomplete_beta(0.7, 4.0, 2.5), abs=1e-13)
    assert regularized_incomplete_beta(0.0, 2, 3) == 0.0
    assert regularized_incomplete_beta(1.0, 2, 3) == 1.0
    # I_x(1, 1) is x itself (the uniform distribution).
    assert regularized_incomplete_beta(0.42, 1, 1) == pytest.approx(0.42, abs=1e-13)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        regularized_incomplete_beta(1.5, 1, 1)


def test_paired_t_gives_the_textbook_interval_and_p_value() -> None:
    """Differences 1..5: mean 3, sd sqrt(2.5), t = 4.2426 on 4 df, p = 0.01324."""
    result = paired_t([1.0, 2.0, 3.0, 4.0, 5.0])
    assert result.mean == 3.0
    assert result.t_statistic == pytest.approx(3 / math.sqrt(2.5 / 5), rel=1e-12)
    assert result.p_value == pytest.approx(0.013236, abs=1e-6)
    half = 2.776445105 * math.sqrt(2.5 / 5)
    assert result.ci_low == pytest.approx(3 - half, abs=1e-8)
    assert result.ci_high == pytest.approx(3 + half, abs=1e-8)


def test_paired_t_without_spread_or_with_one_pair_reports_no_test() -> None:
    """One pair has no interval; equal differences give a zero-width interval and no t."""
    single = paired_t([0.5])
    assert (single.ci_low, single.t_statistic, single.p_value) == (None, None, None)
    constant = paired_t([0.2, 0.2, 0.2])
    assert constant.ci_low == constant.ci_high == pytest.approx(0.2)
    assert constant.t_statistic is None
    nothing_moved = paired_t([0.0, 0.0])
    assert nothing_moved.p_value == 1.0


def test_wilcoxon_exact_distribution_for_small_samples() -> None:
    """Five positive differences: W+ = 15, exact two-sided p = 2/32."""
    result = wilcoxon_signed_rank([0.1, 0.2, 0.3, 0.4, 0.5])
    assert result is not None and result.exact
    assert result.w_plus == 15
    assert result.p_value == pytest.approx(2 / 32)
    balanced = wilcoxon_signed_rank([1.0, -2.0, 3.0, -4.0, 5.0, -6.0])
    assert balanced is not None and balanced.p_value > 0.5


def test_wilcoxon_drops_zeros_and_uses_the_tie_corrected_normal_with_ties() -> None:
    """Zeros leave the test; tied magnitudes switch to the normal approximation."""
    assert wilcoxon_signed_rank([0.0, 0.0]) is None
    tied = wilcoxon_signed_rank([1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0, -1.0])
    assert tied is not None and not tied.exact and tied.nonzero_count == 9
    # W+ = 8 * 5 = 40 of 45; mean 22.5, variance 9*10*19/24 - (9^3-9)/48 = 56.25.
    expected_z = (abs(40 - 22.5) - 0.5) / math.sqrt(56.25)
    assert tied.p_value == pytest.approx(math.erfc(expected_z / math.sqrt(2)), rel=1e-12)


def test_mcnemar_exact_is_a_binomial_test_on_discordant_pairs() -> None:
    """0 vs 5 flips: p = 2/32; equal flips: p = 1; no flips: p = 1."""
    assert mcnemar_exact_p(0, 5) == pytest.approx(2 / 32)
    assert mcnemar_exact_p(5, 0) == pytest.approx(2 / 32)
    assert mcnemar_exact_p(3, 3) == 1.0
    assert mcnemar_exact_p(0, 0) == 1.0
    # 1 vs 9: 2 * (1 + 10) / 1024.
    assert mcnemar_exact_p(1, 9) == pytest.approx(22 / 1024)
