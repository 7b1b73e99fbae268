"""Precision and recall of dataflow detection over the labelled scenario corpus."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

import pytest

from spanflow.dataflow import set_dataflow
from tests.dataflow.corpus import Score, all_scenarios, score
from tests.dataflow.direct import replay

MIN_PRECISION = 0.98
MIN_RECALL = 0.95
MIN_SCENARIOS = 40


@pytest.fixture(params=["background", "inline"])
def dataflow_mode(request: pytest.FixtureRequest) -> Iterator[str]:
    """Detection on, on the background worker and on the caller's thread."""
    set_dataflow(enabled=True, inline=request.param == "inline")
    yield str(request.param)
    set_dataflow(enabled=None)


def test_corpus_precision_and_recall_meet_the_bar(
    dataflow_mode: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Over every labelled scenario, found edges are >= 98% true and >= 95% of true edges."""
    scenarios = all_scenarios()
    assert len(scenarios) >= MIN_SCENARIOS
    assert len({s.name for s in scenarios}) == len(scenarios)
    total = Score(0, 0, 0)
    by_category: dict[str, Score] = defaultdict(lambda: Score(0, 0, 0))
    misses: list[str] = []
    for scenario in scenarios:
        found, _ = replay(scenario.to_data(), run_prefix=f"{dataflow_mode}:{scenario.name}")
        result = score(scenario.edges, found)
        total += result
        by_category[scenario.category] += result
        if result.false_positives or result.false_negatives:
            misses.append(
                f"{scenario.name}: false {sorted(found - scenario.edges)} "
                f"missed {sorted(scenario.edges - found)}"
            )
    with capsys.disabled():
        print(f"\ndataflow corpus ({dataflow_mode}): {len(scenarios)} scenarios")
        for category, result in sorted(by_category.items()):
            print(f"  {category:<14} precision {result.precision:.3f} recall {result.recall:.3f}")
        print(f"  {'overall':<14} precision {total.precision:.3f} recall {total.recall:.3f}")
        for miss in misses:
            print(f"  {miss}")
    assert total.precision >= MIN_PRECISION, misses
    assert total.recall >= MIN_RECALL, misses


def test_every_scenario_is_plain_json_data() -> None:
    """Scenarios are data (replayable through real clients), with edges between their calls."""
    import json

    for scenario in all_scenarios():
        data = json.loads(json.dumps(scenario.to_data()))
        ids = [call["id"] for call in data["calls"]]
        assert len(ids) == len(set(ids)), scenario.name
        for producer, consumer in data["edges"]:
            assert ids.index(producer) < ids.index(consumer), scenario.name
        assert set(data["runs"]) >= {call["run"] for call in data["calls"]}


@pytest.mark.parametrize("salt", ["a:", "b:", "c:", "d:", "e:"])
def test_corpus_holds_on_unseen_texts(salt: str) -> None:
    """The same scenarios with different generated texts still meet the precision/recall bar."""
    from tests.dataflow.prose import salted

    set_dataflow(enabled=True)
    try:
        with salted(salt):
            scenarios = all_scenarios()
        total = Score(0, 0, 0)
        for scenario in scenarios:
            found, _ = replay(scenario.to_data(), run_prefix=f"salt-{salt}{scenario.name}")
            total += score(scenario.edges, found)
    finally:
        set_dataflow(enabled=None)
    assert total.precision >= MIN_PRECISION
    assert total.recall >= MIN_RECALL
