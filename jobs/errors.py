"""The base of every exception the jobs package raises on purpose.

``except JobError`` catches every refusal of a job (bad arguments, a missing raw table,
a broken contract, a refused restore...) and nothing else; each subclass also keeps the
built-in base it always had (``ValueError``, ``FileNotFoundError``...), so existing
handlers still work. Privacy refusals (budget, keys) are :class:`privacy_udfs.PrivacyError`.
"""

from __future__ import annotations


class JobError(Exception):
    """A job refused or failed for a reason it can name; the message says what to fix."""
