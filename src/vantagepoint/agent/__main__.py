"""``python -m vantagepoint.agent``: the agent alone, configured by VANTAGE_AGENT_* only.

The lean way to run a node (e.g. from a systemd unit): it loads none of the
command line's modules, so it needs less memory than ``vantage agent``.
"""

from __future__ import annotations

import sys

from pydantic import ValidationError

from vantagepoint.agent.main import run_agent
from vantagepoint.config import AgentSettings


def main() -> int:
    try:
        settings = AgentSettings()
    except ValidationError as exc:
        print(f"bad agent settings: {exc}", file=sys.stderr)
        return 2
    missing = [f"VANTAGE_AGENT_{n.upper()}" for n in ("token", "name")
               if not getattr(settings, n)]
    if missing:
        print(f"set {' and '.join(missing)}", file=sys.stderr)
        return 2
    run_agent(settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
