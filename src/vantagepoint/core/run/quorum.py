"""quorum: the execution goes on while at least N, or X % of, its actions work.

Every failure is still written to the execution's log as it is reported; the
execution fails only once fewer actions work than the quorum needs.
"""

from __future__ import annotations

import math

from vantagepoint.core.run.tally import Tally


class Quorum:
    """Config: ``{"min_actions": N}`` or ``{"min_percent": X}`` (exactly one)."""

    name = "quorum"
    config_schema = {
        "type": "object", "additionalProperties": False,
        "properties": {"min_actions": {"type": "integer", "minimum": 1},
                       "min_percent": {"type": "number", "exclusiveMinimum": 0,
                                       "maximum": 100}},
        "oneOf": [{"required": ["min_actions"]}, {"required": ["min_percent"]}],
    }
    tolerates_failures = True

    def needed(self, config: dict, total: int) -> int:
        """How many actions must work."""
        if "min_actions" in config:
            return int(config["min_actions"])
        return max(1, math.ceil(total * float(config["min_percent"]) / 100.0 - 1e-9))

    def check_fits(self, config: dict, total: int) -> list[str]:
        """A quorum larger than the scenario could never be met."""
        if self.needed(config, total) > total:
            return [f"the quorum needs {self.needed(config, total)} working actions but the "
                    f"scenario has {total}"]
        return []

    def verdict(self, tally: Tally, config: dict) -> str | None:
        needed = self.needed(config, tally.total)
        if tally.working >= needed:
            return None
        latest = "; ".join(str(f) for f in tally.failures)
        return (f"quorum lost: {tally.working} of {tally.total} actions work, {needed} "
                f"needed ({latest})")
