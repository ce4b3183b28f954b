"""The agent's side of sandboxed experiments, as the main loop sees it.

Deploy gate (layers ahead of time), result file sync, and the metadata bus's
endpoint handed to the experiment tool in the worker processes.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from vantagepoint.agent.client import CoreClient
from vantagepoint.agent.deployer import Deployer, is_experiment
from vantagepoint.agent.result_sync import ResultSync
from vantagepoint.config import AgentSettings
from vantagepoint.sandbox.layers import LayerCache, cache_root
from vantagepoint.tools.experiment import BUS_ENV
from vantagepoint.wire import Assignment

FINAL_PASS_SECONDS = 2.0


def bus_endpoint(settings: AgentSettings) -> str:
    """The metadata bus's endpoint (the bus's own setting when this agent has one)."""
    default = f"ipc://{Path(settings.data_dir).resolve() / 'bus' / 'metadata.ipc'}"
    return getattr(settings, "bus_endpoint", None) or default


class Experiments:
    """Deployer and result sync for the executions that hold experiment actions."""

    def __init__(self, settings: AgentSettings, client: CoreClient,
                 log_line: Callable[[int, str, str], None], work_root: Path):
        cache = LayerCache(cache_root(settings.data_dir), settings.layers_reserve_bytes)
        self.deployer = Deployer(cache, client, log_line, settings.deploy_ahead_count)
        self.sync = ResultSync(client, work_root, settings.results_sync_seconds)
        self._starts: dict[int, float] = {}  # deployed here: execution id -> its start
        os.environ[BUS_ENV] = bus_endpoint(settings)  # worker processes inherit it

    def start(self) -> None:
        self.sync.start()

    def stop(self) -> None:
        self.deployer.stop()
        self.sync.stop(timeout=1.0)
        self.sync.ended_all()
        # A last, short pass; what it misses stays on the node, fetchable on demand.
        self.sync.tick(deadline=time.monotonic() + FINAL_PASS_SECONDS)

    def may_deploy(self, a: Assignment) -> bool:
        """Whether the loop may deploy ``a`` now (its layers are ready, or cannot be had)."""
        if not is_experiment(a):
            return True
        now = time.time()
        waiting = sum(1 for start in self._starts.values() if start > now)
        return self.deployer.may_deploy(a, waiting)

    def deploying(self, a: Assignment) -> None:
        """Raise DeployFailed if the layers could not be had; else follow its results."""
        if not is_experiment(a):
            return
        self.deployer.check(a.execution_id)
        self._starts[a.execution_id] = _epoch(a.start_at)
        self.sync.watch(a.execution_id, [x["name"] for x in a.actions
                                         if x.get("tool") == "experiment"])

    def ended(self, execution_id: int) -> None:
        """Its workers are gone: send the results one last time."""
        if self._starts.pop(execution_id, None) is not None:
            self.sync.ended(execution_id)

    def synced(self, execution_id: int) -> bool:
        return self.sync.synced(execution_id)


def _epoch(moment: datetime) -> float:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
