"""Is a secret (``JWT_SECRET``, ``EXPORT_KEY``) random enough to sign tokens or derive keys?

A length check alone admits ``abcdefgh`` four times over or a documentation
placeholder padded to 32 characters. This estimate removes what a guesser
tries first (placeholders from tutorials, common words, separators, repeats
of a shorter unit, runs of one character, alphabet and keyboard sequences)
and counts what is left at the size of the character classes it uses.
"""

from __future__ import annotations

import math
import re

MIN_SECRET_LENGTH = 32
MIN_SECRET_BITS = 128
# Placeholders of common docs and tutorials: refused whatever else the value holds.
PLACEHOLDERS = (
    "changeme", "change_me", "change-me", "changethis", "change_this", "your-secret",
    "your_secret", "yoursecret", "your-key", "your_key", "replace-me", "replace_me",
    "replaceme", "placeholder", "example", "secret-key", "secret_key", "secretkey",
    "supersecret", "super-secret", "super_secret", "insert", "fixme", "dummy",
    "sample", "password", "passw0rd", "letmein",
)  # fmt: skip
# Words that carry no entropy in a secret; removed before counting.
COMMON_WORDS = (
    "secret", "production", "development", "staging", "default", "please", "token",
    "private", "public", "server", "change", "random", "string", "value", "admin", "local",
    "prod", "test", "demo", "your", "jwt", "key", "api", "app", "dev", "the", "my",
)  # fmt: skip
_SEQUENCES = (
    "abcdefghijklmnopqrstuvwxyz", "0123456789", "qwertyuiop", "asdfghjkl", "zxcvbnm",
)  # fmt: skip
_WORDLIKE_BITS_PER_CHAR = 2.0
_SEPARATORS = re.compile(r"[\s\-_.:/+=,;]+")


def _strip_repetition(text: str) -> str:
    """``text`` reduced to its shortest unit if it is that unit repeated."""
    for size in range(1, len(text) // 2 + 1):
        if len(text) % size == 0 and text[:size] * (len(text) // size) == text:
            return text[:size]
    return text


def _strip_sequences(text: str) -> str:
    """Keep the first character of each run of 3+ consecutive sequence characters."""
    kept: list[str] = []
    index = 0
    while index < len(text):
        run = 1
        for sequence in _SEQUENCES:
            for direction in (sequence, sequence[::-1]):
                position = direction.find(text[index])
                if position < 0:
                    continue
                length = 1
                while (
                    index + length < len(text)
                    and position + length < len(direction)
                    and text[index + length] == direction[position + length]
                ):
                    length += 1
                run = max(run, length)
        kept.append(text[index])
        index += run if run >= 3 else 1
    return "".join(kept)


def _alphabet_size(text: str) -> int:
    size = 0
    if any(c.isdigit() for c in text):
        size += 10
    letters = [c for c in text if c.isalpha() and c.isascii()]
    if letters and all(c in "abcdef" for c in letters) and not any(c.isupper() for c in text):
        return size + 6  # hexadecimal
    if any(c.islower() for c in letters):
        size += 26
    if any(c.isupper() for c in letters):
        size += 26
    if any(not c.isalnum() or not c.isascii() for c in text):
        size += 33
    return max(size, 1)


def estimated_bits(secret: str) -> float:
    """A conservative estimate of the bits of entropy in ``secret``."""
    text = _SEPARATORS.sub("", secret)
    lowered = text.lower()
    for word in sorted(COMMON_WORDS, key=len, reverse=True):
        while word in lowered:
            at = lowered.index(word)
            text, lowered = text[:at] + text[at + len(word) :], lowered.replace(word, "", 1)
    text = _strip_repetition(text)
    text = re.sub(r"(.)\1{2,}", r"\1", text)  # aaaa -> a
    text = _strip_sequences(text)
    if not text:
        return 0.0
    if text.isalpha() and (text.islower() or text.isupper()):
        # Letters of one case only reads like words (a passphrase): English text carries
        # about 2 bits per letter, not log2(26).
        return len(text) * _WORDLIKE_BITS_PER_CHAR
    return len(text) * math.log2(_alphabet_size(text))


def secret_problem(secret: str) -> str | None:
    """Why ``secret`` is too weak to use, or None if it is fine."""
    lowered = secret.lower()
    if any(marker in lowered for marker in PLACEHOLDERS):
        return "is a documentation placeholder or a dictionary value; generate a random one"
    if len(secret) < MIN_SECRET_LENGTH:
        return f"must be at least {MIN_SECRET_LENGTH} characters"
    bits = estimated_bits(secret)
    if bits < MIN_SECRET_BITS:
        return (
            f"is low-entropy (about {bits:.0f} bits after removing words, repeats and "
            f"sequences; {MIN_SECRET_BITS} needed); generate one with "
            "python -c 'import secrets; print(secrets.token_urlsafe(48))'"
        )
    return None
