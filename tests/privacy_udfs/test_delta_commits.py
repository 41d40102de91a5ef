"""Delta conflicts are recognised by type and retried; every other error is raised at once."""

from __future__ import annotations

import pytest
from delta.exceptions import ConcurrentAppendException, MetadataChangedException
from pyspark.errors import AnalysisException

from privacy_udfs.delta_commits import is_delta_conflict, with_conflict_retries


class Flaky:
    """Fails with ``errors`` in turn, then answers ``done``."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "done"


def test_conflicts_are_recognised_by_type_not_by_message() -> None:
    assert is_delta_conflict(ConcurrentAppendException(message="files were added"))
    assert is_delta_conflict(MetadataChangedException(message="x"))
    # A message that merely mentions a conflict is not one.
    assert not is_delta_conflict(ValueError("ConcurrentAppendException in the text"))
    assert not is_delta_conflict(AnalysisException(message="DELTA_CONCURRENT_APPEND"))


def test_a_conflict_raised_as_the_cause_of_another_error_counts() -> None:
    try:
        try:
            raise ConcurrentAppendException(message="inner")
        except ConcurrentAppendException as inner:
            raise RuntimeError("write failed") from inner
    except RuntimeError as outer:
        assert is_delta_conflict(outer)


def test_conflicts_are_retried_until_the_write_succeeds() -> None:
    action = Flaky(ConcurrentAppendException(message="a"), MetadataChangedException(message="b"))
    assert with_conflict_retries(action, attempts=3, base_delay=0.001) == "done"
    assert action.calls == 3


def test_the_last_conflict_is_raised_as_it_was_after_the_attempts() -> None:
    action = Flaky(*[ConcurrentAppendException(message=str(n)) for n in range(5)])
    with pytest.raises(ConcurrentAppendException, match="2"):
        with_conflict_retries(action, attempts=3, base_delay=0.001)
    assert action.calls == 3


def test_other_errors_are_not_retried() -> None:
    action = Flaky(ValueError("bad input"))
    with pytest.raises(ValueError, match="bad input"):
        with_conflict_retries(action, attempts=5, base_delay=0.001)
    assert action.calls == 1
