"""Run one tool action in this process and print what it emitted, as one JSON document.

    python -m vantagepoint.testing.oneshot ping '{"target": "198.18.1.12"}' \
        --device op1 --seconds 5 --requested rtt_ms atlas

Benchmarks start this inside a testbed node's namespace (``ip netns exec``) to
run a tool where an agent would, without the scheduling around it. The output
is ``{"results": [[name, value, ts], ...], "logs": [[level, message], ...]}``;
a tool that refuses its config exits 2 with the reason on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys

from vantagepoint.errors import ToolError
from vantagepoint.testing.contract import run_tool
from vantagepoint.tools.base import ActionEnv
from vantagepoint.tools.registry import load_tools


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m vantagepoint.testing.oneshot",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("tool", help="tool name, as registered")
    parser.add_argument("config", help="the action's config, as JSON")
    parser.add_argument("--device", default=None, help="the measurement interface's device")
    parser.add_argument("--seconds", type=float, default=10.0, help="the activity period")
    parser.add_argument("--requested", nargs="*", default=[], help="requested results")
    parser.add_argument("--workdir", default=None, help="the action's result store")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the tool; print its results and logs as JSON; 2 when it refused."""
    args = parse_args(argv)
    tool = load_tools().get(args.tool)
    env = ActionEnv(node="oneshot", action=args.tool, interface=args.device,
                    device=args.device, workdir=args.workdir)
    try:
        results, logs = run_tool(tool, json.loads(args.config), args.seconds,
                                 args.requested, env)
    except ToolError as exc:
        print(f"{args.tool} refused: {exc}", file=sys.stderr)
        return 2
    json.dump({"results": results, "logs": logs}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
