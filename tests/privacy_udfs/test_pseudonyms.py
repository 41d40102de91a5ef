"""hash_id: bit-for-bit Python HMAC, null handling, and a key that never shows."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from privacy_udfs import PseudonymKey, hash_id
from privacy_udfs.pseudonyms import _padded_keys

KEY = PseudonymKey(bytes(range(7, 47)), "v1")  # 40 bytes: padded, not hashed
LONG_KEY = PseudonymKey(bytes(range(100)), "v1")  # > 64 bytes: hashed first (RFC 2104)


def _python_hmac(key: PseudonymKey, value: str) -> str:
    return hmac.new(key.secret, value.encode("utf-8"), hashlib.sha256).hexdigest()


def _pseudonyms(
    spark: SparkSession, values: list[str | None], keys: list[PseudonymKey]
) -> list[list[str | None]]:
    """Pseudonyms of ``values`` under each key (one column per key), in one Spark job."""
    df = spark.createDataFrame([(i, v) for i, v in enumerate(values)], "i int, id string")
    hashed = [hash_id("id", key).alias(f"h{n}") for n, key in enumerate(keys)]
    rows = df.select("i", *hashed).orderBy("i").collect()
    return [[row[f"h{n}"] for row in rows] for n in range(len(keys))]


def test_edge_cases_equal_python_hmac(spark: SparkSession) -> None:
    values = ["", "a", "learner-42", "é漢字🙂", "x" * 200, "tab\tnew\nline", None]
    keys = [KEY, LONG_KEY]
    expected = [[None if v is None else _python_hmac(key, v) for v in values] for key in keys]
    assert _pseudonyms(spark, values, keys) == expected


@settings(
    max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(values=st.lists(st.text(max_size=40), min_size=1, max_size=300))
def test_hmac_equals_python_for_any_text(spark: SparkSession, values: list[str]) -> None:
    assert _pseudonyms(spark, list(values), [KEY]) == [[_python_hmac(KEY, v) for v in values]]


@settings(
    max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(secrets=st.lists(st.binary(min_size=32, max_size=80), min_size=2, max_size=4, unique=True))
def test_different_keys_give_different_pseudonyms(
    spark: SparkSession, secrets: list[bytes]
) -> None:
    ids = ["learner-1", "learner-2", ""]
    keys = [PseudonymKey(s, "v1") for s in secrets]
    per_key = [tuple(p) for p in _pseudonyms(spark, list(ids), keys)]
    assert len(set(per_key)) == len(secrets)
    assert all(len(set(p)) == len(ids) for p in per_key)


def test_non_string_ids_are_hashed_as_their_text(spark: SparkSession) -> None:
    df = spark.createDataFrame([(12345,)], "id long")
    assert df.select(hash_id(F.col("id"), KEY)).head(1)[0][0] == _python_hmac(KEY, "12345")


def _key_material(key: PseudonymKey) -> list[str]:
    inner, outer = _padded_keys(key.secret)
    texts = [key.secret.hex(), inner.hex(), outer.hex()]
    return texts + [t.upper() for t in texts] + [str(list(inner[:16]))[1:-1]]


def _shows_key(text: str, key: PseudonymKey) -> bool:
    return any(material in text for material in _key_material(key))


def test_key_not_in_explain_column_repr_or_analysis_errors(spark: SparkSession) -> None:
    df = spark.createDataFrame([("a",)], "id string")
    column = hash_id("id", KEY)
    assert not _shows_key(repr(column), KEY)
    for mode in ("simple", "extended", "formatted", "codegen", "cost"):
        captured = io.StringIO()
        with contextlib.redirect_stdout(captured):
            df.select(column).explain(mode)
        assert mode == "codegen" or "sha2" in captured.getvalue()
        assert not _shows_key(captured.getvalue(), KEY), mode
    # Analysis errors print the whole plan (no redaction there): misspelt column, bad type.
    for broken in (hash_id("no_such_column", KEY), hash_id("id", KEY) + F.array(F.lit(1))):
        with pytest.raises(Exception) as caught:  # any Spark error will do
            df.select(broken).collect()
        assert not _shows_key(str(caught.value), KEY)


def test_hash_id_refuses_a_raw_key() -> None:
    with pytest.raises(TypeError, match="PseudonymKey"):
        hash_id("id", b"raw bytes")  # type: ignore[arg-type]
