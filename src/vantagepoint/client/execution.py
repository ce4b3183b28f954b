"""A handle on one execution: refresh, wait for its end, fetch its results and log."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from vantagepoint.wire import ExecState

if TYPE_CHECKING:
    from vantagepoint.client._client import Client

FINAL_STATES = frozenset({ExecState.FINISHED, ExecState.FAILED, ExecState.CANCELED})


class Execution:
    """One run of a scenario as the core last described it (``data`` is the ExecutionOut)."""

    def __init__(self, client: Client, data: dict[str, Any]):
        self.client = client
        self.data = data

    @property
    def id(self) -> int:
        return int(self.data["id"])

    @property
    def state(self) -> ExecState:
        return ExecState(self.data["state"])

    @property
    def reason(self) -> str | None:
        return self.data.get("reason")

    @property
    def scenario(self) -> str:
        return str(self.data["scenario"])

    @property
    def done(self) -> bool:
        """True once the execution is in a final state (finished, failed, canceled)."""
        return self.state in FINAL_STATES

    def refresh(self) -> Execution:
        """Fetch the current state from the core."""
        self.data = self.client.request("GET", f"/executions/{self.id}")
        return self

    def wait(self, timeout: float | None = None, poll: float = 0.5) -> Execution:
        """Poll until a final state; raise TimeoutError after ``timeout`` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.refresh().done:
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(
                    f"execution {self.id} still {self.state} after {timeout} s"
                )
            left = poll if deadline is None else min(poll, deadline - time.monotonic())
            time.sleep(max(0.0, left))
        return self

    def cancel(self) -> Execution:
        """Ask the core to cancel; a final execution is left as it is by the core."""
        self.data = self.client.request("POST", f"/executions/{self.id}/cancel")
        return self

    def results(self, **filters: Any) -> list[dict[str, Any]]:
        """This execution's results (filters as in ``Client.results``)."""
        return self.client.results(execution=self.id, **filters)

    def logs(self, after: int | None = None) -> list[dict[str, Any]]:
        """This execution's log lines, oldest first."""
        return self.client.logs(self.id, after=after)

    def __repr__(self) -> str:
        return f"<Execution {self.id} {self.scenario!r} {self.state.value}>"
