"""The demo study on the virtual testbed: two nodes, a 10 ms emulated link between them."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PREFIX = "vpd-"  # never a developer's own (vp-) testbed
DELAY_MS = 10.0  # each way on n1's op0: the round trip shows about 20 ms
LINKS = {"operators": ["demo-net"], "links": {"n1": {"op0": {"delay_ms": DELAY_MS}}}}
DESCRIPTION = (f"Round-trip times n1 -> n2 over a link with {DELAY_MS:g} ms of emulated "
               "delay each way, and n1's load")


def why_not_testbed() -> str | None:
    """Why the demo cannot use the testbed here; None when it can (root, iproute2)."""
    if os.geteuid() != 0:
        return "not root"
    missing = [tool for tool in ("ip", "tc") if shutil.which(tool) is None]
    return f"{' and '.join(missing)} not installed" if missing else None


@contextmanager
def testbed(where: Path) -> Iterator:
    """A two-node testbed (agents online) in ``where``; removed afterwards."""
    from vantagepoint.testbed import Testbed

    bed = Testbed.up(nodes=2, interfaces=1, links=LINKS, run_dir=where / "testbed",
                     prefix=PREFIX, core_env={"VANTAGE_TICK_SECONDS": "0.2"})
    try:
        yield bed
    finally:
        bed.down()


def target(bed) -> str:
    """What n1 pings: n2's address across the emulated link."""
    return bed.node("n2").interface("op0").address
