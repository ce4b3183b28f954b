"""all-or-nothing (the default execution model): any failure cancels everywhere."""

from __future__ import annotations

from vantagepoint.core.run.tally import Tally


class AllOrNothing:
    """The first failed init or run fails the execution, with its reason."""

    name = "all-or-nothing"
    config_schema = {"type": "object", "additionalProperties": False}
    tolerates_failures = False

    def verdict(self, tally: Tally, config: dict) -> str | None:
        return str(tally.failures[0]) if tally.failures else None
