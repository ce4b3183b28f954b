"""Secrets never reach a log: a logging filter that masks them in every record.

It masks our token format (``vpu_…``, ``vpn_…``), ``token=``/``password=``-style
query and form fields, bearer credentials, the password part of URLs, and every
secret the settings hold (admin and metrics tokens, the database password,
notifier and archiver credentials), in messages, their arguments and tracebacks.
"""

from __future__ import annotations

import copy
import logging
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

MASK = "***"
_SECRET_KEY = re.compile(r"(?i)(pass(word|wd)?|secret|token|api[_-]?key|access[_-]?key|"
                         r"credential|auth)")
_PATTERNS = [
    (re.compile(r"\bvp[un]_[A-Za-z0-9_-]{8,}"), lambda m: m.group(0)[:4] + MASK),
    (re.compile(r"(?i)\b((?:access_|api_|auth_)?(?:token|password|passwd|secret|api_?key)"
                r"[\"']?\s*[=:]\s*[\"']?)[^&\s\"',;}]+"), lambda m: m.group(1) + MASK),
    (re.compile(r"(?i)\b(bearer\s+)[^\s\"',]+"), lambda m: m.group(1) + MASK),
    (re.compile(r"(://[^/\s:@]*:)[^@\s/]+@"), lambda m: m.group(1) + MASK + "@"),
]
MIN_SECRET = 6  # shorter "secrets" would mask ordinary words


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every secret we can recognise masked."""
    for secret in secrets:
        if len(secret) >= MIN_SECRET:
            text = text.replace(secret, MASK)
    for pattern, mask in _PATTERNS:
        text = pattern.sub(mask, text)
    return text


class Redactor(logging.Filter):
    """Masks secrets in a record's message, arguments and traceback before any handler."""

    def __init__(self, secrets: Iterable[str] = ()):
        super().__init__()
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = scrub(record.msg, self.secrets)
        record.args = self._args(record.args)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub(record.exc_text, self.secrets)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info, self.secrets)
        return True

    def _args(self, args: Any) -> Any:
        if isinstance(args, tuple):
            return tuple(self._arg(a) for a in args)
        if isinstance(args, dict):
            return {k: self._arg(v) for k, v in args.items()}
        return args

    def _arg(self, value: Any) -> Any:
        if isinstance(value, (int, float)) or value is None:
            return value  # %d and %f need numbers
        return scrub(str(value), self.secrets)


def settings_secrets(settings: Any) -> list[str]:
    """Every secret value a CoreSettings or AgentSettings holds."""
    found = [getattr(settings, name, None) for name in ("admin_token", "metrics_token", "token")]
    url = getattr(settings, "database_url", None)
    if url:
        found.append(urlsplit(url).password)
    for group in ("notifiers", "archivers"):
        value = getattr(settings, group, None)
        found.extend(_nested_secrets(value))
    return [s for s in found if isinstance(s, str) and s]


def _nested_secrets(value: Any, key: str = "") -> list[str]:
    """Values under secret-looking keys, and passwords inside URLs, anywhere in ``value``."""
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in _nested_secrets(v, str(k))]
    if isinstance(value, list):
        return [s for v in value for s in _nested_secrets(v, key)]
    if not isinstance(value, str):
        return []
    found = [value] if _SECRET_KEY.search(key) else []
    if "://" in value:
        try:
            found.append(urlsplit(value).password or "")
        except ValueError:
            pass
    return found


def install(secrets: Iterable[str] = ()) -> Redactor:
    """Add a Redactor to every handler of the root logger (after basicConfig)."""
    redactor = Redactor(secrets)
    for handler in logging.getLogger().handlers:
        handler.addFilter(redactor)
    return redactor


def uvicorn_log_config(settings: Any) -> dict[str, Any]:
    """uvicorn's logging config with the Redactor on every handler; our loggers join in."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact"] = {
        "()": "vantagepoint.redact.Redactor", "secrets": settings_secrets(settings)}
    for handler in config["handlers"].values():
        handler.setdefault("filters", []).append("redact")
    config["root"] = {"handlers": ["default"], "level": "WARNING"}
    return config
