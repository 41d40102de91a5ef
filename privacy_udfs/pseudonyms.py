"""Keyed pseudonyms: HMAC-SHA256 composed from Spark built-ins.

``HMAC(K, m) = SHA256((K ⊕ opad) ‖ SHA256((K ⊕ ipad) ‖ m))`` (RFC 2104). The
two padded keys are computed on the driver; Spark's ``sha2``/``concat``/
``unhex`` do the rest in the JVM, with no Python UDF on the hot path.

The padded keys reveal the key, so they must not appear in any plan string.
String or binary literals would: ``spark.sql.redaction.string.regex`` hides
them in ``explain()`` but *not* in AnalysisException messages (nor in the
ERROR log line Spark writes for them), e.g. when the id column is misspelt.
The pads therefore live in a one-row DataFrame referenced through a scalar
subquery: plans print ``scalar-subquery#n`` and ``Scan ExistingRDD``, never
the bytes.
"""

from __future__ import annotations

from pyspark.errors import PySparkRuntimeError
from pyspark.sql import Column, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from privacy_udfs.keys import PseudonymKey
from privacy_udfs.local_frames import local_frame

_SHA256_BLOCK_BYTES = 64


def hash_id(col: Column | str, key: PseudonymKey) -> Column:
    """Pseudonymize ``col`` as lowercase-hex ``HMAC-SHA256(key, str(col))``.

    Equal to ``hmac.new(key.secret, value.encode("utf-8"), hashlib.sha256).hexdigest()``
    for every string, including empty and non-ASCII ones; other types are cast to
    string first. Null in gives null out.

    Uses the active SparkSession (to hold the padded keys); it never creates one.

    Args:
        col: The identifier column or its name.
        key: The pseudonym key (see :func:`privacy_udfs.load_pseudonym_key`).

    Raises:
        TypeError: ``key`` is not a :class:`PseudonymKey`.
        RuntimeError: No SparkSession is active.
    """
    if not isinstance(key, PseudonymKey):
        raise TypeError(
            f"key must be a PseudonymKey (use load_pseudonym_key()), got {type(key).__name__}"
        )
    inner_pad, outer_pad = _padded_keys(key.secret)
    # The thread's active session, else the default one: a run in a worker thread of
    # the driver (concurrent releases) has not made any session active in its thread.
    try:
        spark = SparkSession.active()
    except PySparkRuntimeError:
        raise RuntimeError(
            "hash_id needs an active SparkSession (build one with jobs.session)"
        ) from None
    # A local relation: each scalar subquery below reads it on the driver, no Spark job.
    pads = local_frame(
        spark,
        [(inner_pad, outer_pad)],
        T.StructType(
            [T.StructField("inner_pad", T.BinaryType()), T.StructField("outer_pad", T.BinaryType())]
        ),
    )
    message = (F.col(col) if isinstance(col, str) else col).cast("string").cast("binary")
    inner_hex = F.sha2(F.concat(pads.select("inner_pad").scalar(), message), 256)
    return F.sha2(F.concat(pads.select("outer_pad").scalar(), F.unhex(inner_hex)), 256)


def _padded_keys(secret: bytes) -> tuple[bytes, bytes]:
    """The RFC 2104 inner and outer padded keys of ``secret`` for SHA-256."""
    import hashlib

    block = hashlib.sha256(secret).digest() if len(secret) > _SHA256_BLOCK_BYTES else secret
    block = block.ljust(_SHA256_BLOCK_BYTES, b"\0")
    return bytes(b ^ 0x36 for b in block), bytes(b ^ 0x5C for b in block)
