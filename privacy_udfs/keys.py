"""Pseudonym keys: loading from configuration, validation, per-export derivation.

The key is a secret: it is read from the environment or a secret file, held
only as bytes, and never appears in ``repr``/``str``, logs or error messages
(only its version and a short fingerprint do). A missing, short or
well-known key is refused, because a guessable key turns HMAC back into a
plain hash that can be reversed by enumerating learner ids.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from privacy_udfs.errors import PrivacyConfigurationError

KEY_ENV = "PSEUDONYM_KEY"
KEY_FILE_ENV = "PSEUDONYM_KEY_FILE"
KEY_VERSION_ENV = "PSEUDONYM_KEY_VERSION"
MIN_KEY_BYTES = 32
_VERSION_PATTERN = re.compile(r"^[A-Za-z0-9._:+/-]{1,128}$")

# Keys copied from examples and templates: refused outside tests whatever their length.
_KNOWN_DEFAULT_KEYS = frozenset(
    {
        "changeme",
        "change-me",
        "change_me",
        "changeit",
        "default",
        "secret",
        "password",
        "test",
        "testing",
        "development",
        "dev",
        "demo",
        "example",
        "your-secret-key",
        "your-secret-key-here",
        "your_secret_key_here",
        "replace-me",
        "insecure",
        "not-a-secret",
        "pseudonym-key",
        "pseudonym_key",
        "your-secret-key-here-change-in-production",
        "change-this-to-a-random-secret-key-in-production",
        "dev-secret-key-do-not-use-in-production",
        "00000000000000000000000000000000",
    }
)


class PseudonymKeyError(PrivacyConfigurationError):
    """The pseudonym key is missing, too short or a known default (never shows the key)."""


@dataclass(frozen=True)
class PseudonymKey:
    """A secret HMAC key and the version recorded next to the pseudonyms it made.

    Attributes:
        secret: The key bytes (at least 32 unless a test key was explicitly allowed).
        version: Recorded with the data (``key_version``) so keys can be rotated.
    """

    secret: bytes = field(repr=False)
    version: str

    def __post_init__(self) -> None:
        if not isinstance(self.secret, bytes) or not self.secret:
            raise PseudonymKeyError("PseudonymKey.secret must be non-empty bytes")
        if not _VERSION_PATTERN.match(self.version):
            raise PseudonymKeyError(
                "PseudonymKey.version must be 1-128 characters of letters, digits and ._:+/- "
                f"(got {self.version!r})"
            )

    @property
    def fingerprint(self) -> str:
        """Eight hex digits identifying the key in logs without revealing it."""
        return hmac.new(self.secret, b"privacy_udfs/fingerprint", hashlib.sha256).hexdigest()[:8]

    def __repr__(self) -> str:
        return f"PseudonymKey(version={self.version!r}, fingerprint={self.fingerprint!r})"

    __str__ = __repr__


def load_pseudonym_key(
    key: str | None = None,
    key_file: Path | None = None,
    version: str | None = None,
    *,
    allow_insecure_test_key: bool = False,
) -> PseudonymKey:
    """Load and validate the pseudonym key.

    With both ``key`` and ``key_file`` ``None`` the environment is read:
    ``PSEUDONYM_KEY``, else the file named by ``PSEUDONYM_KEY_FILE``. A file's
    trailing whitespace (the newline editors add) is not part of the key.

    Args:
        key: The key itself (UTF-8 text).
        key_file: A file holding the key.
        version: Key version to record; defaults to ``PSEUDONYM_KEY_VERSION`` or ``"v1"``.
        allow_insecure_test_key: Accept short or well-known keys. Only tests may set it.

    Returns:
        The validated key.

    Raises:
        PseudonymKeyError: No key is configured, both sources are given, the file is
            unreadable, or the key is shorter than 32 bytes or a known default.
    """
    if key is not None and key_file is not None:
        raise PseudonymKeyError("Give either key or key_file, not both")
    if key is None and key_file is None:
        key = os.environ.get(KEY_ENV) or None
        file_name = os.environ.get(KEY_FILE_ENV) or None
        if key is None and file_name is not None:
            key_file = Path(file_name)
        if key is None and key_file is None:
            raise PseudonymKeyError(
                f"No pseudonym key configured: set {KEY_ENV} or {KEY_FILE_ENV} "
                f"(a random secret of at least {MIN_KEY_BYTES} bytes, e.g. "
                "`python -c 'import secrets; print(secrets.token_hex(32))'`)"
            )
    if key_file is not None:
        try:
            secret = key_file.read_bytes().rstrip()
        except OSError as error:
            raise PseudonymKeyError(
                f"Cannot read the pseudonym key file {str(key_file)!r}: {error.strerror}"
            ) from None
    else:
        secret = (key or "").encode("utf-8")
    if version is None:
        version = os.environ.get(KEY_VERSION_ENV) or "v1"
    if not allow_insecure_test_key:
        _refuse_weak_key(secret)
    return PseudonymKey(secret=secret, version=version)


def export_secret(master: bytes, export_id: str) -> bytes:
    """The one export-key scheme: ``HMAC-SHA256(master, "privacy_udfs/export/" + export_id)``.

    Used by notebooks (:func:`derive_export_key`, master = the pseudonym key) and by the
    API's research exports (master = ``EXPORT_KEY``): pseudonyms of two exports cannot be
    linked without the master, and the master never leaves its secret store.

    Raises:
        PrivacyConfigurationError: ``export_id`` is empty or the master is empty.
    """
    if not export_id.strip():
        raise PrivacyConfigurationError("export_id must be a non-empty string")
    if not master:
        raise PrivacyConfigurationError("the export master key is empty")
    return hmac.new(
        master, b"privacy_udfs/export/" + export_id.encode("utf-8"), hashlib.sha256
    ).digest()


def derive_export_key(key: PseudonymKey, export_id: str) -> PseudonymKey:
    """Derive the key of one research export, so pseudonyms differ between exports.

    The derived secret is ``HMAC-SHA256(key, "privacy_udfs/export/" + export_id)``:
    without the master key, pseudonyms of two exports cannot be linked.

    Args:
        key: The master pseudonym key.
        export_id: Identifies the export (e.g. its request id); non-empty.

    Raises:
        PrivacyConfigurationError: ``export_id`` is empty.
    """
    secret = export_secret(key.secret, export_id)
    export_tag = hashlib.sha256(export_id.encode("utf-8")).hexdigest()[:12]
    return PseudonymKey(secret=secret, version=f"{key.version}+export.{export_tag}")


def _refuse_weak_key(secret: bytes) -> None:
    if not secret:
        raise PseudonymKeyError(f"The pseudonym key is empty: set {KEY_ENV} or {KEY_FILE_ENV}")
    if len(secret) < MIN_KEY_BYTES:
        raise PseudonymKeyError(
            f"The pseudonym key is too short ({len(secret)} bytes; at least {MIN_KEY_BYTES} "
            "needed so ids cannot be recovered by guessing the key)"
        )
    text = secret.decode("utf-8", errors="replace").strip().lower()
    if text in _KNOWN_DEFAULT_KEYS or _is_repetitive(secret):
        raise PseudonymKeyError(
            "The pseudonym key is a known default or has almost no entropy; "
            "generate a random one (secrets.token_hex(32))"
        )


def _is_repetitive(secret: bytes) -> bool:
    """True for keys made of one short pattern repeated (``"changeme" * 4``, ``"a" * 32``)."""
    return any(
        all(secret[i] == secret[i % period] for i in range(len(secret))) for period in range(1, 9)
    )
