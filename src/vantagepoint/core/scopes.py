"""Token scopes: what a token may do, whatever its owner's role allows.

    read      every query (GET) a user may make, the dashboard, the live stream
    schedule  submitting specs, schedules, executions, studies; cancelling them
    admin     users, quotas, tokens of others, node tokens, node status, the audit log
    node      the agent routes (/agent/...)

A token's scopes never exceed its owner's role (admin needs an admin user).
"""

from __future__ import annotations

from collections.abc import Iterable

from vantagepoint.errors import Invalid, Problem

SCOPES = ("read", "schedule", "admin", "node")
USER_SCOPES = ("read", "schedule")
ADMIN_SCOPES = ("read", "schedule", "admin")


def role_scopes(kind: str, is_admin: bool = False) -> tuple[str, ...]:
    """The scopes a token gets when none are asked for: all its owner's role allows."""
    if kind == "node":
        return ("node",)
    return ADMIN_SCOPES if is_admin else USER_SCOPES


def parse(text: str) -> frozenset[str]:
    return frozenset(text.split())


def dump(scopes: Iterable[str]) -> str:
    """The stored form: space-separated, in the canonical order."""
    chosen = set(scopes)
    return " ".join(s for s in SCOPES if s in chosen)


def check_grant(asked: Iterable[str], allowed: Iterable[str], pointer: str = "/scopes") -> None:
    """Refuse scopes beyond ``allowed`` (the owner's role, the caller's own token)."""
    extra = sorted(set(asked) - set(allowed))
    if extra:
        raise Invalid("the token would get more than it may have", [Problem(
            pointer, f"scope(s) {', '.join(extra)} not allowed here; allowed: "
                     f"{', '.join(s for s in SCOPES if s in set(allowed)) or 'none'}")])
