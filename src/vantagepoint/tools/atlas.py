"""Records in the RIPE Atlas ping and traceroute result formats.

Users already have parsers (``ripe.atlas.sagan``) and reports for these, so
``ping`` and ``traceroute`` each emit one such record per run as their
``atlas`` result. Fields a tool cannot know are mapped as follows:

- ``msm_id``: a stable 31-bit hash (CRC-32) of the action's name, 0 without
  one (a tool does not see its execution id; the core may rewrite it);
- ``prb_id``: 0 (a tool does not see a numeric node id);
- ``fw``: 5000 + 10 * major + minor of the tool's version (``1.1`` is 5011),
  above every firmware threshold at which parsers switch to older layouts;
- ``from``: the local source address (a node does not know its public one);
- ``lts``: -1 (time since the last clock sync is unknown).

Round-trip times are in milliseconds, rounded to microseconds as Atlas does.
"""

from __future__ import annotations

import socket
import zlib
from collections.abc import Sequence
from typing import Any

FIRMWARE_BASE = 5000


def firmware(version: str) -> int:
    """The ``fw`` number standing for a tool version such as ``1.1``."""
    parts = [int(p) if p.isdigit() else 0 for p in version.split(".")[:2]] + [0]
    return FIRMWARE_BASE + 10 * parts[0] + parts[1]


def measurement_id(action: str) -> int:
    """The ``msm_id`` standing for an action name (0 for none)."""
    return zlib.crc32(action.encode()) & 0x7FFFFFFF if action else 0


def ms(value: float) -> float:
    """A round-trip time as Atlas writes it (ms, three decimals)."""
    return round(value, 3)


def header(kind: str, version: str, action: str, family: int, dst: tuple[str, str],
           src_addr: str, proto: str, start: float) -> dict[str, Any]:
    """The fields every Atlas result has; ``dst`` is (address, name as given)."""
    return {
        "type": kind, "msm_id": measurement_id(action), "prb_id": 0,
        "fw": firmware(version), "from": src_addr,
        "af": 4 if family == socket.AF_INET else 6,
        "dst_addr": dst[0], "dst_name": dst[1], "src_addr": src_addr,
        "proto": proto, "lts": -1, "timestamp": int(start),
    }


def ping_stats(rtts: Sequence[float]) -> dict[str, float]:
    """``min``, ``avg`` and ``max`` of the replies, -1 each when none came back."""
    if not rtts:
        return {"min": -1, "avg": -1, "max": -1}
    return {"min": ms(min(rtts)), "avg": ms(sum(rtts) / len(rtts)), "max": ms(max(rtts))}


def timeout() -> dict[str, str]:
    """A packet or probe that got no answer."""
    return {"x": "*"}
