"""Pseudonym keys: configuration sources, refusals, secrecy of the key, export derivation."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from privacy_udfs import (
    PrivacyLevel,
    PseudonymKey,
    PseudonymKeyError,
    derive_export_key,
    load_pseudonym_key,
)

GOOD_KEY = "9c2f4e0d7a1b8c3e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6"


@pytest.fixture(autouse=True)
def _no_key_in_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PSEUDONYM_KEY", "PSEUDONYM_KEY_FILE", "PSEUDONYM_KEY_VERSION"):
        monkeypatch.delenv(name, raising=False)


def test_levels_carry_epsilon_and_descriptions() -> None:
    assert [level.value for level in PrivacyLevel] == [
        "anonymized",
        "dp_low",
        "dp_medium",
        "dp_high",
    ]
    assert [level.epsilon for level in PrivacyLevel] == [None, 2.0, 1.0, 0.5]
    assert not PrivacyLevel.ANONYMIZED.is_dp and PrivacyLevel.DP_HIGH.is_dp
    assert (
        PrivacyLevel("dp_medium").suitable_for == "Public reports, cross-tenant analytics, research"
    )
    assert "ε=0.5" in PrivacyLevel.DP_HIGH.description(7)
    assert "k=7" in PrivacyLevel.ANONYMIZED.description(7)


def test_key_from_argument_environment_and_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert load_pseudonym_key(GOOD_KEY).secret == GOOD_KEY.encode()
    monkeypatch.setenv("PSEUDONYM_KEY", GOOD_KEY)
    monkeypatch.setenv("PSEUDONYM_KEY_VERSION", "2026-01")
    from_env = load_pseudonym_key()
    assert (from_env.secret, from_env.version) == (GOOD_KEY.encode(), "2026-01")
    monkeypatch.delenv("PSEUDONYM_KEY")
    key_file = tmp_path / "key"
    key_file.write_text(GOOD_KEY + "\n")
    monkeypatch.setenv("PSEUDONYM_KEY_FILE", str(key_file))
    assert load_pseudonym_key(version="v9") == PseudonymKey(GOOD_KEY.encode(), "v9")


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (None, "No pseudonym key configured"),
        ("", "No pseudonym key configured"),
        ("short-but-random-Zq81", "too short"),
        ("changeme" * 4, "known default"),
        ("your-secret-key-here-change-in-production", "known default"),
        ("a" * 40, "known default"),
    ],
)
def test_missing_short_or_default_keys_are_refused_without_showing_them(
    key: str | None, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if key is not None:
        monkeypatch.setenv("PSEUDONYM_KEY", key)
    with pytest.raises(PseudonymKeyError, match=message) as caught:
        load_pseudonym_key()
    if key:
        assert key not in str(caught.value)


def test_insecure_test_key_needs_the_explicit_flag() -> None:
    key = load_pseudonym_key("test", allow_insecure_test_key=True)
    assert key.secret == b"test"


def test_unreadable_key_file_names_the_file_not_the_key(tmp_path: Path) -> None:
    with pytest.raises(PseudonymKeyError, match="missing-key-file"):
        load_pseudonym_key(key_file=tmp_path / "missing-key-file")
    with pytest.raises(PseudonymKeyError, match="either"):
        load_pseudonym_key(GOOD_KEY, key_file=tmp_path / "k")


def test_key_never_appears_in_repr_or_str() -> None:
    key = load_pseudonym_key(GOOD_KEY)
    for text in (repr(key), str(key), f"{key}", repr([key])):
        assert GOOD_KEY not in text and GOOD_KEY.encode().hex() not in text
    assert "fingerprint" in repr(key) and "v1" in repr(key)


def test_export_keys_differ_per_export_and_are_stable() -> None:
    master = load_pseudonym_key(secrets.token_hex(32))
    first, again, other = (
        derive_export_key(master, "export-1"),
        derive_export_key(master, "export-1"),
        derive_export_key(master, "export-2"),
    )
    assert first == again
    assert len({master.secret, first.secret, other.secret}) == 3
    assert first.version.startswith("v1+export.") and first.version != other.version
    with pytest.raises(ValueError, match="export_id"):
        derive_export_key(master, " ")
