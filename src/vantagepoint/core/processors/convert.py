"""convert: unit conversion of named results on ingest (e.g. ms -> s, bytes -> bits).

The result is renamed for its new unit: ``rtt_ms`` becomes ``rtt_s`` (a name ending
in ``_<from>`` gets ``_<to>``), or whatever ``rename`` says. A numeric value is
scaled; for an object value, ``fields`` names the keys to scale.
"""

from __future__ import annotations

from typing import Any

from vantagepoint.core.ingest import numeric
from vantagepoint.core.processors.units import UNITS, factor, mismatch

_UNIT = {"type": "string", "enum": sorted(UNITS)}
_RESULT = "^[A-Za-z_][A-Za-z0-9_.-]{0,63}$"


class Convert:
    name = "convert"
    config_schema = {
        "type": "object", "additionalProperties": False, "required": ["conversions"],
        "properties": {"conversions": {"type": "array", "minItems": 1, "items": {
            "type": "object", "additionalProperties": False,
            "required": ["result", "from", "to"],
            "properties": {
                "result": {"type": "string", "pattern": _RESULT},
                "from": _UNIT, "to": _UNIT,
                "rename": {"type": "string", "pattern": _RESULT},
                "fields": {"type": "array", "items": {"type": "string"}, "minItems": 1},
            }}}},
    }

    def check(self, config: dict) -> list[tuple[list, str]]:
        """Units of one conversion must measure the same thing."""
        problems = []
        for i, c in enumerate(config["conversions"]):
            why = mismatch(c["from"], c["to"])
            if why:
                problems.append((["conversions", i, "to"], why))
        return problems

    def transform(self, name: str, value: Any, config: dict) -> tuple[str, Any]:
        for c in config["conversions"]:
            if c["result"] == name:
                return renamed(name, c), _scaled(value, c, factor(c["from"], c["to"]))
        return name, value


def renamed(name: str, c: dict) -> str:
    """The result's name in its new unit."""
    if "rename" in c:
        return c["rename"]
    suffix = f"_{c['from']}"
    return name[: -len(suffix)] + f"_{c['to']}" if name.endswith(suffix) else name


def _scaled(value: Any, c: dict, k: float) -> Any:
    if isinstance(value, dict) and "fields" in c:
        return {f: (v * k if f in c["fields"] and numeric(v) is not None else v)
                for f, v in value.items()}
    return value * k if numeric(value) is not None else value
