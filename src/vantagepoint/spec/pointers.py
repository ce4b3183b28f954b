"""JSON pointers (RFC 6901) for error reports."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import ValidationError

from vantagepoint.errors import Problem


def pointer(*parts: str | int) -> str:
    """Join parts into a JSON pointer, escaping ``~`` and ``/``."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def join(base: str, *parts: str | int) -> str:
    return base + pointer(*parts)


def pydantic_problems(exc: ValidationError, base: str = "") -> list[Problem]:
    """Turn a pydantic error into problems; union tags (``~inline``) are dropped."""
    problems = []
    for err in exc.errors(include_url=False):
        loc: Iterable = [p for p in err["loc"] if not (isinstance(p, str) and p.startswith("~"))]
        message = err["msg"]
        if err["type"] == "extra_forbidden":
            message = "unknown field"
        elif err["type"] == "missing":
            message = "field required"
        problems.append(Problem(join(base, *loc), message))
    return problems
