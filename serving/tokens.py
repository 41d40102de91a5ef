"""Bearer tokens: roles, minting and verification (HS256 with ``JWT_SECRET``).

Run ``python -m serving.tokens --role admin --tenant <uuid>`` to print a token
for local use, signed with the configured secret.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

import jwt

from serving.exceptions import ApiError

ALGORITHM = "HS256"
AUDIENCE = "learning-analytics-api"
# Tenant-scoped roles must name their tenant; root is platform-wide by definition.
TENANT_REQUIRED_ROLES = frozenset({"admin"})
DEFAULT_MAX_TTL_SECONDS = 86_400  # JWT_MAX_TTL_SECONDS
CLOCK_SKEW_SECONDS = 60


class Role(IntEnum):
    """Roles in increasing privilege; a route requiring a role admits every higher one."""

    PUBLIC = 0
    RESEARCHER = 1
    ADMIN = 2
    ROOT = 3

    @property
    def label(self) -> str:
        """Lower-case name as it appears in tokens and audit records."""
        return self.name.lower()

    @classmethod
    def parse(cls, label: str) -> Role:
        """The role called ``label``.

        Raises:
            ValueError: ``label`` is not a role name.
        """
        try:
            return cls[label.upper()]
        except KeyError:
            names = ", ".join(r.label for r in cls)
            raise ValueError(f"unknown role {label!r}; expected one of {names}") from None


@dataclass(frozen=True)
class Principal:
    """Who is calling: the verified token's subject, role and tenant scope."""

    subject: str
    role: Role
    tenant_id: str | None

    def may_access_tenant(self, tenant_id: str) -> bool:
        """Whether this caller may see ``tenant_id``'s data.

        Root sees every tenant; a token naming a tenant sees only that tenant; a
        researcher token naming none is a platform researcher (cross-tenant exports).
        """
        if self.role is Role.ROOT:
            return True
        if self.tenant_id is None:
            return self.role is Role.RESEARCHER
        return self.tenant_id == tenant_id.lower()


ANONYMOUS = Principal(subject="anonymous", role=Role.PUBLIC, tenant_id=None)


class InvalidTokenError(ApiError):
    """The bearer token is missing, malformed, expired, forged or carries bad claims: 401."""

    def __init__(self, reason: str) -> None:
        super().__init__(401, "unauthorized", reason)


def _normalise_tenant(tenant_id: str | None) -> str | None:
    if tenant_id is None:
        return None
    return str(uuid.UUID(tenant_id))


def mint_token(
    secret: str,
    *,
    role: Role,
    subject: str,
    tenant_id: str | None = None,
    ttl_seconds: int = 3600,
    now: float | None = None,
) -> str:
    """Sign a token for ``subject`` with ``role``.

    Args:
        secret: The HS256 key (``JWT_SECRET``).
        role: Role claim; ``public`` tokens are pointless and refused.
        subject: Caller id (only its keyed hash is ever logged).
        tenant_id: Tenant the token is scoped to (required for admins).
        ttl_seconds: Lifetime.
        now: Issue time (Unix seconds); defaults to the clock.

    Raises:
        ValueError: Missing tenant for a tenant-scoped role, bad UUID or a public role.
    """
    if role is Role.PUBLIC:
        raise ValueError("public callers need no token")
    if role.label in TENANT_REQUIRED_ROLES and tenant_id is None:
        raise ValueError(f"role {role.label!r} requires --tenant")
    issued = int(time.time() if now is None else now)
    claims: dict[str, object] = {
        "sub": subject,
        "role": role.label,
        "aud": AUDIENCE,
        "iat": issued,
        "exp": issued + ttl_seconds,
    }
    tenant = _normalise_tenant(tenant_id)
    if tenant is not None:
        claims["tenant_id"] = tenant
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify_token(
    token: str, secret: str, *, max_ttl_seconds: int = DEFAULT_MAX_TTL_SECONDS
) -> Principal:
    """Verify signature, algorithm, audience, expiry and lifetime, and read the claims.

    Args:
        token: The bearer token.
        secret: The HS256 key.
        max_ttl_seconds: Longest lifetime (``exp - iat``) accepted, so a leaked
            long-lived token cannot outlive the policy whatever its ``exp``.

    Raises:
        InvalidTokenError: With a message safe to return to the caller.
    """
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            options={"require": ["exp", "iat", "sub", "aud"]},
        )
    except jwt.ExpiredSignatureError:
        raise InvalidTokenError("token expired") from None
    except jwt.PyJWTError:
        raise InvalidTokenError("token invalid") from None
    issued, expires = claims.get("iat"), claims.get("exp")
    if not isinstance(issued, int | float) or not isinstance(expires, int | float):
        raise InvalidTokenError("token claims invalid")
    if issued > time.time() + CLOCK_SKEW_SECONDS:
        raise InvalidTokenError("token issued in the future")
    if expires - issued > max_ttl_seconds:
        raise InvalidTokenError(f"token lifetime exceeds the maximum of {max_ttl_seconds} s")
    try:
        role = Role.parse(str(claims.get("role", "")))
        tenant = claims.get("tenant_id")
        tenant_id = _normalise_tenant(str(tenant)) if tenant is not None else None
    except ValueError:
        raise InvalidTokenError("token claims invalid") from None
    if role is Role.PUBLIC or (role.label in TENANT_REQUIRED_ROLES and tenant_id is None):
        raise InvalidTokenError("token claims invalid")
    return Principal(subject=str(claims["sub"]), role=role, tenant_id=tenant_id)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: mint a token with the configured ``JWT_SECRET`` and print it."""
    from conf.settings import ConfigurationError
    from serving.config import load_app_config

    parser = argparse.ArgumentParser(prog="python -m serving.tokens", description=__doc__)
    parser.add_argument("--role", required=True, choices=[r.label for r in Role if r.value > 0])
    parser.add_argument("--tenant", default=None, help="tenant UUID (required for admin)")
    parser.add_argument("--subject", default="local-user", help="caller id (logged only hashed)")
    parser.add_argument(
        "--ttl", type=int, default=None, help="lifetime in seconds (at most JWT_MAX_TTL_SECONDS)"
    )
    args = parser.parse_args(argv)
    try:
        config = load_app_config()
        maximum = config.serving.jwt_max_ttl_seconds
        if args.ttl is not None and not 0 < args.ttl <= maximum:
            raise ValueError(f"--ttl must be between 1 and JWT_MAX_TTL_SECONDS ({maximum})")
        token = mint_token(
            config.serving.jwt_secret.get_secret_value(),
            role=Role.parse(args.role),
            subject=args.subject,
            tenant_id=args.tenant,
            ttl_seconds=args.ttl or config.serving.jwt_ttl_seconds,
        )
    except (ConfigurationError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(token)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
