"""The whole labelled corpus, and precision/recall over it."""

from __future__ import annotations

from dataclasses import dataclass

from tests.dataflow import corpus_agents, corpus_chats, corpus_negatives
from tests.dataflow.scenario import Scenario

BUILDERS = [*corpus_agents.SCENARIOS, *corpus_chats.SCENARIOS, *corpus_negatives.SCENARIOS]


def all_scenarios() -> list[Scenario]:
    """Every scenario of the corpus, freshly built."""
    return [build() for build in BUILDERS]


@dataclass(frozen=True)
class Score:
    """Edge counts of one or many scenarios."""

    true_positives: int
    false_positives: int
    false_negatives: int

    @property
    def precision(self) -> float:
        """Found edges that are true (1.0 when nothing was found)."""
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else 1.0

    @property
    def recall(self) -> float:
        """True edges that were found (1.0 when there are none)."""
        truth = self.true_positives + self.false_negatives
        return self.true_positives / truth if truth else 1.0

    def __add__(self, other: Score) -> Score:
        return Score(
            self.true_positives + other.true_positives,
            self.false_positives + other.false_positives,
            self.false_negatives + other.false_negatives,
        )


def score(truth: set[tuple[str, str]], found: set[tuple[str, str]]) -> Score:
    """Compare found edges with the true ones."""
    return Score(len(truth & found), len(found - truth), len(truth - found))
