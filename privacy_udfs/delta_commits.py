"""Delta's optimistic-concurrency conflicts, recognised by type and retried with tenacity.

Two runs that commit to the same table at once (two tenants' slices, two charges of the
budget ledger) can make Delta refuse the later commit; re-reading the log and committing
again almost always succeeds. A conflict is recognised by its type (``delta.exceptions``,
which delta-spark raises in place of the JVM's exceptions once ``delta.exceptions.captured``
is imported) or, for a table another run is creating right now, by its error condition;
never by matching message text. Used by the budget ledger and by the jobs' writes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import delta.exceptions.captured  # noqa: F401  (installs the JVM -> Python conversion)
from delta.exceptions import (
    ConcurrentAppendException,
    ConcurrentDeleteDeleteException,
    ConcurrentDeleteReadException,
    ConcurrentTransactionException,
    ConcurrentWriteException,
    DeltaConcurrentModificationException,
    MetadataChangedException,
    ProtocolChangedException,
)
from deltalake.exceptions import CommitFailedError
from pyspark.errors import PySparkException
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential, wait_random

ResultT = TypeVar("ResultT")

CONFLICT_TYPES: tuple[type[Exception], ...] = (
    CommitFailedError,  # delta-rs: a concurrent commit won (ledgers written without Spark)
    ConcurrentAppendException,
    ConcurrentDeleteDeleteException,
    ConcurrentDeleteReadException,
    ConcurrentTransactionException,
    ConcurrentWriteException,
    DeltaConcurrentModificationException,
    MetadataChangedException,
    ProtocolChangedException,
)
# Another run is creating the same table: its log exists, its first commit not yet.
CREATION_RACE_CONDITIONS = frozenset(
    {"DELTA_TABLE_ALREADY_EXISTS", "DELTA_CREATE_TABLE_WITH_NON_EMPTY_LOCATION"}
)
_MAX_CAUSES = 8


def is_delta_conflict(error: BaseException) -> bool:
    """True when ``error`` (or an exception it was caused by) is a retryable Delta conflict."""
    current: BaseException | None = error
    for _ in range(_MAX_CAUSES):
        if current is None:
            return False
        if isinstance(current, CONFLICT_TYPES):
            return True
        if isinstance(current, PySparkException):
            if current.getCondition() in CREATION_RACE_CONDITIONS:
                return True
            # A captured JVM exception keeps its converted JVM cause here.
            cause = getattr(current, "_cause", None)
            if isinstance(cause, BaseException):
                current = cause
                continue
        current = current.__cause__
    return False


def conflict_retrying(
    *,
    attempts: int,
    base_delay: float,
    also: Callable[[BaseException], bool] = lambda _error: False,
) -> Retrying:
    """A tenacity policy: retry Delta conflicts (and whatever ``also`` accepts).

    Waits grow exponentially from ``base_delay`` with jitter, so concurrent writers
    desynchronise; after ``attempts`` tries the last error is raised as it was.
    """
    return Retrying(
        retry=retry_if_exception(lambda error: is_delta_conflict(error) or also(error)),
        stop=stop_after_attempt(attempts),
        wait=wait_exponential(multiplier=base_delay, max=30 * base_delay)
        + wait_random(0, base_delay),
        reraise=True,
    )


def with_conflict_retries(
    action: Callable[[], ResultT], *, attempts: int = 5, base_delay: float = 0.5
) -> ResultT:
    """Run a Delta write; run it again (after a backoff) when Delta reports a conflict."""
    return conflict_retrying(attempts=attempts, base_delay=base_delay)(action)
