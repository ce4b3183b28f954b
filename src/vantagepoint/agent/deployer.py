"""Experiments deployed ahead of time: their layers fetched and unpacked before the start.

At most ``ahead`` experiments are prepared or waiting deployed at once, and a
layer that would not fit on the disk (with a reserve kept free) waits; each
delay is written to the execution's log with its reason, once per reason. A
layer that cannot be had (unknown to the core, corrupted, not a tar) fails the
deploy with the reason. One thread prepares one layer at a time, so a layer
two executions share is fetched once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

import httpx

from vantagepoint.agent.client import FAILURES, CoreClient, describe, is_permanent
from vantagepoint.sandbox.layers import Delayed, LayerCache, LayerError
from vantagepoint.wire import Assignment

log = logging.getLogger(__name__)

TOOL = "experiment"
RETRY_SECONDS = 10.0
LogLine = Callable[[int, str, str], None]  # (execution id, message, level)


class DeployFailed(Exception):
    """The execution's layers cannot be prepared on this node."""


def layer_digests(a: Assignment) -> list[str]:
    """The layers the assignment's experiment actions need, each once, in order."""
    found: list[str] = []
    for action in a.actions:
        if action.get("tool") != TOOL:
            continue
        config = action.get("config") or {}
        for key in ("rootfs", "program"):
            digest = config.get(key)
            if isinstance(digest, str) and digest not in found:
                found.append(digest)
    return found


def is_experiment(a: Assignment) -> bool:
    return any(action.get("tool") == TOOL for action in a.actions)


class Deployer:
    """Prepares experiments' layers in a background thread; the loop asks whether it may go."""

    def __init__(self, cache: LayerCache, client: CoreClient, log_line: LogLine, ahead: int):
        self.cache, self.client, self.log, self.ahead = cache, client, log_line, ahead
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="deployer")
        self._jobs: dict[int, Future] = {}
        self._failed: dict[int, str] = {}
        self._said: dict[int, str] = {}
        self._retry_at: dict[int, float] = {}

    def may_deploy(self, a: Assignment, waiting: int) -> bool:
        """True once ``a``'s layers are ready (or cannot be had); ``waiting``: experiments
        deployed here that have not started yet."""
        digests = layer_digests(a)
        if not digests:
            return True
        job = self._jobs.get(a.execution_id)
        if job is None:
            return self._begin(a, digests, waiting)
        if not job.done():
            return False
        del self._jobs[a.execution_id]
        return self._outcome(a.execution_id, job)

    def _begin(self, a: Assignment, digests: list[str], waiting: int) -> bool:
        if waiting + len(self._jobs) >= self.ahead:
            self._delay(a.execution_id, f"{self.ahead} experiments are already deployed ahead "
                                        "on this node")
            return False
        if all(self.cache.ready(d) for d in digests):
            self.log(a.execution_id, f"deploy: {len(digests)} layer(s) in this node's cache",
                     "info")
            return True
        if time.monotonic() < self._retry_at.get(a.execution_id, 0.0):
            return False
        self._jobs[a.execution_id] = self._pool.submit(self._prepare, a.execution_id, digests)
        return False

    def _outcome(self, execution_id: int, job: Future) -> bool:
        exc = job.exception()
        if isinstance(exc, Delayed):
            self._delay(execution_id, str(exc))
            self._retry_at[execution_id] = time.monotonic() + RETRY_SECONDS
            return False
        if exc is not None:
            self._failed[execution_id] = str(exc)
        self._said.pop(execution_id, None)
        self._retry_at.pop(execution_id, None)
        return True

    def check(self, execution_id: int) -> None:
        """Raise DeployFailed with the reason when the layers could not be prepared."""
        reason = self._failed.pop(execution_id, None)
        if reason is not None:
            raise DeployFailed(reason)

    def stop(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _delay(self, execution_id: int, reason: str) -> None:
        if self._said.get(execution_id) != reason:
            self._said[execution_id] = reason
            self.log(execution_id, f"deploy delayed: {reason}", "warning")

    def _prepare(self, execution_id: int, digests: list[str]) -> None:
        for digest in digests:
            if self.cache.ready(digest):
                self.log(execution_id, f"deploy: layer {digest} is in this node's cache", "info")
                continue
            began = time.monotonic()
            self.log(execution_id, f"deploy: fetching layer {digest}", "info")
            try:
                fetched = self.cache.prepare(digest, self._download)
            except FAILURES as exc:
                if is_permanent(exc):
                    raise LayerError(f"layer {digest}: {describe(exc)}") from exc
                raise Delayed(f"the core cannot send layer {digest} now: {describe(exc)}") \
                    from exc
            except httpx.HTTPError as exc:
                raise Delayed(f"fetching layer {digest} failed: {exc}") from exc
            how = "fetched and unpacked" if fetched else "unpacked"
            self.log(execution_id, f"deploy: layer {digest} {how} in "
                                   f"{time.monotonic() - began:.1f} s", "info")

    def _download(self, digest: str, target) -> None:
        self.client.download_layer(digest, target, check_size=self.cache.check_space)
