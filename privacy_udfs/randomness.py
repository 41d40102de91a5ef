"""Sources of random bytes for noise: the OS CSPRNG, or a seeded source for tests.

Noise UDFs ask their source for one :class:`ByteStream` per (purpose, Spark
partition) and read fresh bytes for every Arrow batch. In production the
stream is ``os.urandom``: nothing to seed, nothing to predict, different on
every batch, partition and retry. ``numpy.random`` is never used (it is not a
cryptographically secure generator and its state can be recovered from outputs).

Tests need reproducible draws. :func:`seeded_random_source_for_tests` expands a
seed with SHAKE-256 into independent streams per purpose, partition and batch;
it refuses to exist unless ``PRIVACY_UDFS_ALLOW_SEEDED_RANDOMNESS=1`` is set in
the environment, which no production configuration sets.
"""

from __future__ import annotations

import hashlib
import os
from abc import ABC, abstractmethod
from typing import Protocol

SEEDED_RANDOMNESS_ENV = "PRIVACY_UDFS_ALLOW_SEEDED_RANDOMNESS"


class ByteStream(Protocol):
    """Successive random bytes for one purpose within one Spark partition."""

    def read(self, size: int) -> bytes:
        """Return ``size`` fresh random bytes."""
        ...


class RandomSource(ABC):
    """Where noise comes from. Instances are pickled into Spark tasks."""

    @abstractmethod
    def stream(self, purpose: str, partition_id: int) -> ByteStream:
        """A stream for ``purpose`` (e.g. the measure name) in Spark partition ``partition_id``."""

    def driver_bytes(self, purpose: str, size: int) -> bytes:
        """Random bytes drawn on the driver (salts, seeds of bounding), ``size`` long."""
        return self.stream(f"driver/{purpose}", -1).read(size)


class _OsStream:
    def read(self, size: int) -> bytes:
        return os.urandom(size)


class SecureRandomSource(RandomSource):
    """The OS CSPRNG (``os.urandom``) for every batch; the production source."""

    def stream(self, purpose: str, partition_id: int) -> ByteStream:
        """Return a stream reading ``os.urandom`` (purpose and partition need no separation)."""
        return _OsStream()

    def __repr__(self) -> str:
        return "SecureRandomSource(os.urandom)"


class _ShakeStream:
    """SHAKE-256(prefix ‖ counter): a deterministic stream of independent-looking bytes."""

    def __init__(self, prefix: bytes) -> None:
        self._prefix = prefix
        self._counter = 0

    def read(self, size: int) -> bytes:
        self._counter += 1
        block = self._prefix + self._counter.to_bytes(8, "big")
        return hashlib.shake_256(block).digest(size)


class SeededRandomSourceForTests(RandomSource):
    """Reproducible randomness for tests only (see :func:`seeded_random_source_for_tests`)."""

    def __init__(self, seed: int) -> None:
        _require_test_switch()
        self._seed = seed

    def stream(self, purpose: str, partition_id: int) -> ByteStream:
        """Return the deterministic stream of (seed, purpose, partition)."""
        prefix = f"privacy_udfs/seeded/{self._seed}/{purpose}/{partition_id}/".encode()
        return _ShakeStream(prefix)

    def __repr__(self) -> str:
        return f"SeededRandomSourceForTests(seed={self._seed})"


def secure_random_source() -> RandomSource:
    """The production source: fresh OS CSPRNG bytes for every batch and partition."""
    return SecureRandomSource()


def seeded_random_source_for_tests(seed: int) -> RandomSource:
    """A reproducible source for tests; refuses unless the testing switch is set.

    Args:
        seed: Any integer; equal seeds give equal noise for equal purposes and partitions.

    Raises:
        RuntimeError: ``PRIVACY_UDFS_ALLOW_SEEDED_RANDOMNESS`` is not ``1``.
    """
    return SeededRandomSourceForTests(seed)


def _require_test_switch() -> None:
    # Checked where the source is created (the driver): executors' environments
    # are fixed when Spark starts, so a check there could not follow the switch.
    if os.environ.get(SEEDED_RANDOMNESS_ENV) != "1":
        raise RuntimeError(
            "Seeded randomness is for tests only: set "
            f"{SEEDED_RANDOMNESS_ENV}=1 in the test environment to enable it"
        )
