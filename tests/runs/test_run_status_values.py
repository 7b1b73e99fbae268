"""``spanflow.RunStatus`` is an Enum whose members are the plain status strings users compare."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path

import pytest

import spanflow
from spanflow import RunStatus
from spanflow.client import Client

STATUS_WORDS = ["running", "completed", "failed", "cancelled", "interrupted"]


def test_run_status_is_an_enum_of_the_status_words() -> None:
    """Iterating RunStatus gives the five statuses, each a member built back from its word."""
    assert issubclass(RunStatus, Enum)
    assert [member.value for member in RunStatus] == STATUS_WORDS
    for word in STATUS_WORDS:
        assert RunStatus(word) is RunStatus[word.upper()]
    with pytest.raises(ValueError, match="'done' is not a valid RunStatus"):
        RunStatus("done")


@pytest.mark.parametrize("member", list(RunStatus))
def test_a_member_compares_hashes_and_prints_as_its_word(member: RunStatus) -> None:
    """Each member equals its plain string in comparisons, dict and set lookups, str(),
    f-strings with and without a format spec, %-formatting, joins and JSON."""
    word = member.value
    assert member == word and word == member and isinstance(member, str)
    assert {word: 1}[member] == 1 and {member: 1}[word] == 1 and member in {word}
    assert str(member) == word and type(str(member)) is str
    assert f"{member}" == word and f"{member:>12}" == f"{word:>12}" and f"{member!s}" == word
    assert "%s" % member == word and format(member) == word  # noqa: UP031 (tested on purpose)
    assert "/".join([member, member]) == f"{word}/{word}"
    assert json.dumps({member: member}) == json.dumps({word: word})


def test_statuses_read_back_are_plain_strings_that_equal_members(tmp_path: Path) -> None:
    """A handle's status is a member (also after finish() with a word); a run's status read from
    the index is a plain str, equal to the member; a filter given members finds the runs one
    given the words does."""
    db = tmp_path / "index.db"
    spanflow.configure(exporters=["embedded"], db_path=db)
    try:
        with spanflow.run("passes") as passing:
            pass
        with pytest.raises(RuntimeError), spanflow.run("breaks"):
            raise RuntimeError("boom")
        assert passing.status is RunStatus.COMPLETED and str(passing.status) == "completed"
        assert "status='completed'" in repr(passing)
        finished_by_word = spanflow.start_run("finished-by-word")
        assert finished_by_word.status is RunStatus.RUNNING
        finished_by_word.finish("cancelled")
        assert finished_by_word.status is RunStatus.CANCELLED
        spanflow.force_flush()
    finally:
        spanflow.configure(exporters=["none"])
    with Client(db) as client:
        (failed,) = client.list_runs(status=RunStatus.FAILED).runs
        assert failed.name == "breaks"
        assert type(failed.status) is str and failed.status == RunStatus.FAILED
        assert RunStatus(failed.status) is RunStatus.FAILED
        by_members = client.list_runs(status=[RunStatus.COMPLETED, RunStatus.CANCELLED]).runs
        by_words = client.list_runs(status=["completed", "cancelled"]).runs
        assert [run.id for run in by_members] == [run.id for run in by_words]
        assert len(by_words) == 2
