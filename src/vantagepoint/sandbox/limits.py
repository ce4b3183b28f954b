"""CPU and memory limits for a sandbox: cgroup v2, else cgroup v1, else rlimits.

The sandbox's first process joins its group before it execs bubblewrap (a
shell writes its own pid to ``cgroup.procs``), so nothing it starts escapes.
"""

from __future__ import annotations

import contextlib
import os
import shlex
from dataclasses import dataclass
from pathlib import Path

CGROUP = Path("/sys/fs/cgroup")
PERIOD_US = 100_000


@dataclass(frozen=True)
class Limits:
    memory_bytes: int | None = None
    cpus: float | None = None


class Group:
    """Where a sandbox's processes are accounted; ``wrap`` puts a command inside."""

    kind = "rlimit"

    def __init__(self, limits: Limits):
        self.limits = limits

    def create(self) -> None:
        """Make the group and set its limits."""

    def wrap(self, argv: list[str]) -> list[str]:
        """``argv`` run so that it lives under these limits."""
        setup = []
        if self.limits.memory_bytes is not None:
            setup.append(f"ulimit -v {max(1, self.limits.memory_bytes // 1024)}")
        return ["/bin/sh", "-c", "; ".join([*setup, 'exec "$@"']), "sandbox", *argv]

    def oom_kills(self) -> int:
        """How many processes the kernel killed for exceeding the memory limit."""
        return 0

    def notes(self) -> list[str]:
        """What is enforced weaker than asked, for the execution log."""
        notes = []
        if self.limits.memory_bytes is not None:
            notes.append("no memory cgroup here: memory is limited per process as address "
                         "space (allocations beyond it fail)")
        if self.limits.cpus is not None:
            notes.append("no cpu cgroup here: the CPU limit is not enforced")
        return notes

    def remove(self) -> None:
        """Delete the group (its processes must be gone)."""


class _CGroupBase(Group):
    def __init__(self, limits: Limits, name: str):
        super().__init__(limits)
        self.name = name

    def dirs(self) -> list[Path]:
        raise NotImplementedError

    def wrap(self, argv: list[str]) -> list[str]:
        joins = "; ".join(f"echo $$ > {shlex.quote(str(d / 'cgroup.procs'))}"
                          for d in self.dirs())
        return ["/bin/sh", "-c", f'{joins}; exec "$@"', "sandbox", *argv]

    def notes(self) -> list[str]:
        return []

    def remove(self) -> None:
        for directory in self.dirs():
            with contextlib.suppress(OSError):
                directory.rmdir()


class V2(_CGroupBase):
    kind = "cgroup v2"

    def dirs(self) -> list[Path]:
        return [CGROUP / "vantage" / self.name]

    def create(self) -> None:
        parent = CGROUP / "vantage"
        parent.mkdir(exist_ok=True)
        with contextlib.suppress(OSError):
            (parent.parent / "cgroup.subtree_control").write_text("+memory +cpu")
            (parent / "cgroup.subtree_control").write_text("+memory +cpu")
        group = self.dirs()[0]
        group.mkdir(exist_ok=True)
        if self.limits.memory_bytes is not None:
            (group / "memory.max").write_text(str(self.limits.memory_bytes))
            with contextlib.suppress(OSError):
                (group / "memory.swap.max").write_text("0")
        if self.limits.cpus is not None:
            (group / "cpu.max").write_text(f"{int(self.limits.cpus * PERIOD_US)} {PERIOD_US}")

    def oom_kills(self) -> int:
        return _field(self.dirs()[0] / "memory.events", "oom_kill")


class V1(_CGroupBase):
    kind = "cgroup v1"

    def dirs(self) -> list[Path]:
        found = []
        if self.limits.memory_bytes is not None:
            found.append(CGROUP / "memory" / "vantage" / self.name)
        if self.limits.cpus is not None:
            found.append(CGROUP / "cpu" / "vantage" / self.name)
        return found

    def create(self) -> None:
        for directory in self.dirs():
            directory.mkdir(parents=True, exist_ok=True)
        if self.limits.memory_bytes is not None:
            memory = CGROUP / "memory" / "vantage" / self.name
            (memory / "memory.limit_in_bytes").write_text(str(self.limits.memory_bytes))
            with contextlib.suppress(OSError):  # only where swap accounting is on
                (memory / "memory.memsw.limit_in_bytes").write_text(
                    str(self.limits.memory_bytes))
        if self.limits.cpus is not None:
            cpu = CGROUP / "cpu" / "vantage" / self.name
            (cpu / "cpu.cfs_period_us").write_text(str(PERIOD_US))
            (cpu / "cpu.cfs_quota_us").write_text(str(int(self.limits.cpus * PERIOD_US)))

    def oom_kills(self) -> int:
        memory = CGROUP / "memory" / "vantage" / self.name
        return _field(memory / "memory.oom_control", "oom_kill")


def _field(path: Path, key: str) -> int:
    try:
        for line in path.read_text().splitlines():
            name, _, value = line.partition(" ")
            if name == key:
                return int(value)
    except (OSError, ValueError):
        pass
    return 0


def _v2_usable() -> bool:
    try:
        controllers = (CGROUP / "cgroup.controllers").read_text().split()
    except OSError:
        return False
    return "memory" in controllers and os.access(CGROUP, os.W_OK)


def _v1_usable(limits: Limits) -> bool:
    wanted = (["memory"] if limits.memory_bytes is not None else []) + (
        ["cpu"] if limits.cpus is not None else [])
    return bool(wanted) and all(os.access(CGROUP / c, os.W_OK) for c in wanted)


def group_for(limits: Limits, name: str) -> Group:
    """The strongest mechanism this host offers for ``limits``."""
    if limits.memory_bytes is None and limits.cpus is None:
        return Group(limits)
    if _v2_usable():
        return V2(limits, name)
    if _v1_usable(limits):
        return V1(limits, name)
    return Group(limits)
