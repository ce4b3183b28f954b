"""anonymise: every IP address in an action's results, prefix-preserving and keyed.

Applied on ingest, so the original addresses are never stored. Any string that
is exactly an IPv4 or IPv6 literal is mapped, at any depth of a result's value
(ping and traceroute targets and hops, the ``from``/``dst_addr``/``src_addr``
of Atlas records); ``fields`` limits it to object keys of those names.
"""

from __future__ import annotations

from typing import Any

from vantagepoint.core.processors.cryptopan import PrefixPreserving


class Anonymise:
    name = "anonymise"
    config_schema = {
        "type": "object", "additionalProperties": False, "required": ["key"],
        "properties": {
            "key": {"type": "string", "minLength": 16,
                    "description": "Secret of the mapping; the same key maps the same way."},
            "fields": {"type": "array", "items": {"type": "string"}, "uniqueItems": True,
                       "description": "Only values under object keys of these names "
                                      "(and plain string results); default: everywhere."},
        },
    }

    def __init__(self) -> None:
        self._mappers: dict[str, PrefixPreserving] = {}

    def transform(self, name: str, value: Any, config: dict) -> tuple[str, Any]:
        key = config["key"]
        mapper = self._mappers.get(key)
        if mapper is None:
            mapper = self._mappers[key] = PrefixPreserving(key.encode())
        fields = set(config["fields"]) if "fields" in config else None
        return name, _walk(value, mapper, fields, True)


def _walk(value: Any, mapper: PrefixPreserving, fields: set[str] | None, chosen: bool) -> Any:
    if isinstance(value, str):
        return _address(value, mapper) if chosen else value
    if isinstance(value, list):
        return [_walk(v, mapper, fields, chosen) for v in value]
    if isinstance(value, dict):
        return {k: _walk(v, mapper, fields, fields is None or k in fields)
                for k, v in value.items()}
    return value


def _address(text: str, mapper: PrefixPreserving) -> str:
    if not (":" in text or text[:1].isdigit()):
        return text  # cheaply skip what cannot be an address literal
    try:
        return mapper.address(text)
    except ValueError:
        return text
