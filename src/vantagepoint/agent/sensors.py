"""Bus sources read from this machine: ``MONROE.META.NODE.SENSOR.<kind>``.

Kinds: cpu (percent of time per state since the last reading), memory
(bytes), disk (bytes of the agent's data directory), uptime (seconds) and
running (this agent's executions).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vantagepoint.agent.uploader import _Periodic
from vantagepoint.bus.message import sensor_topic
from vantagepoint.bus.publisher import Publisher

PROC = Path("/proc")
CPU_STATES = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")


def cpu_times(root: Path = PROC) -> list[int]:
    """Jiffies per state of the whole machine (first line of /proc/stat)."""
    first = (root / "stat").read_text().splitlines()[0].split()
    return [int(v) for v in first[1:1 + len(CPU_STATES)]]


def cpu_percent(before: list[int], after: list[int]) -> dict[str, float]:
    """Share of each state between two readings, in percent."""
    delta = [b - a for a, b in zip(before, after, strict=False)]
    total = sum(delta) or 1
    return {state: round(100.0 * d / total, 2) for state, d in zip(CPU_STATES, delta,
                                                                   strict=False)}


def memory(root: Path = PROC) -> dict[str, int]:
    """Total, available and used memory in bytes (/proc/meminfo)."""
    info = {}
    for line in (root / "meminfo").read_text().splitlines():
        key, _, rest = line.partition(":")
        info[key] = int(rest.split()[0]) * 1024
    total, free = info["MemTotal"], info.get("MemAvailable", info["MemFree"])
    return {"total": total, "free": free, "apps": total - free}


def uptime(root: Path = PROC) -> float:
    return float((root / "uptime").read_text().split()[0])


class Sensors(_Periodic):
    """Publishes every sensor every ``period`` seconds."""

    def __init__(self, bus: Publisher, period: float, data_dir: Path,
                 running: Callable[[], list[int]]):
        super().__init__("sensors", 0.0)
        self.bus, self.period, self.data_dir, self.running = bus, period, data_dir, running
        self._cpu = cpu_times()

    def tick(self) -> float:
        for kind, fields in self.readings().items():
            self.bus.publish(sensor_topic(kind), fields)
        return self.period

    def readings(self) -> dict[str, dict[str, Any]]:
        now = cpu_times()
        cpu, self._cpu = cpu_percent(self._cpu, now), now
        disk = shutil.disk_usage(self.data_dir)
        executions = sorted(self.running())
        return {"cpu": cpu, "memory": memory(),
                "disk": {"total": disk.total, "used": disk.used, "free": disk.free},
                "uptime": {"uptime": uptime()},
                "running": {"count": len(executions), "executions": executions}}
