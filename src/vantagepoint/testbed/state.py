"""The state file: every namespace, link and process a testbed made, written as it goes.

Each object is recorded *before* it is created (processes right after they
start), and the file is replaced atomically, so `vantage testbed down` can
remove all of it after a crash at any point. What the file misses (it was
deleted, or a crash hit between two writes) the prefix scan finds.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

STATE_FILE = "state.json"
VERSION = 1


@dataclass
class ProcessRecord:
    """A process the testbed started: enough to find it again and not another."""

    role: str  # core, agent or emulator
    name: str
    pid: int
    start_time: int  # clock ticks since boot (/proc/PID/stat field 22): guards pid reuse
    namespace: str | None
    log: str


@dataclass
class State:
    """What one testbed made; saved to ``path`` after every change."""

    path: Path
    prefix: str
    namespaces: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)  # host links: bridges and veth ends
    processes: list[ProcessRecord] = field(default_factory=list)
    core_url: str | None = None
    admin_token_file: str | None = None
    plan: dict = field(default_factory=dict)

    def add_namespace(self, name: str) -> None:
        """Record namespace ``name`` (call before creating it)."""
        self.namespaces.append(name)
        self.save()

    def add_link(self, name: str) -> None:
        """Record host link ``name`` (call before creating it)."""
        self.links.append(name)
        self.save()

    def add_process(self, record: ProcessRecord) -> None:
        """Record a started process."""
        self.processes.append(record)
        self.save()

    def save(self) -> None:
        """Write the file atomically (a crash leaves the old or the new one)."""
        data = {k: v for k, v in asdict(self).items() if k != "path"}
        data["version"] = VERSION
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temp = self.path.with_suffix(".tmp")
        with open(temp, "w") as handle:
            json.dump(data, handle, indent=1)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, self.path)

    @classmethod
    def load(cls, path: Path) -> State | None:
        """The state in ``path``; None if there is none (or it cannot be read)."""
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        data.pop("version", None)
        processes = [ProcessRecord(**p) for p in data.pop("processes", [])]
        return cls(path=path, processes=processes, **data)

    def remove(self) -> None:
        """Delete the file."""
        self.path.unlink(missing_ok=True)
