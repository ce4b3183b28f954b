"""The tool plugin contract.

A tool is a class with metadata (name, version, config JSON Schema, result
specs) and three steps, called in one worker process per action:

- ``init(config, requested)``: acquire resources and refuse early by raising
  ``ToolError`` with a sentence a person can act on;
- ``run(ctx)``: measure until done or until ``ctx.stopping``; hand results to
  ``ctx.emit`` as they become available;
- ``finish()``: release resources; always called once ``init`` was called.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from vantagepoint.spec.tools import ResultSpec, ToolInfo


@dataclass(frozen=True)
class ActionEnv:
    """Where an action runs: its node, its measurement interface and a work dir."""

    node: str
    action: str
    interface: str | None = None
    device: str | None = None
    workdir: str | None = None


class Tool:
    """Base class for every measurement tool; subclass and register an entry point."""

    name: ClassVar[str]
    version: ClassVar[str] = "1.0"
    description: ClassVar[str] = ""
    config_schema: ClassVar[dict[str, Any]] = {"type": "object"}
    results: ClassVar[list[ResultSpec]] = []
    dynamic_results: ClassVar[bool] = False

    def __init__(self, env: ActionEnv):
        self.env = env

    @classmethod
    def info(cls) -> ToolInfo:
        """The metadata a node advertises for this tool."""
        return ToolInfo(
            name=cls.name, version=cls.version, description=cls.description,
            config_schema=cls.config_schema, results=list(cls.results),
            dynamic_results=cls.dynamic_results,
        )

    @classmethod
    def check_config(cls, config: dict[str, Any], requested: list[str]) -> None:
        """Refuse (ToolError) a config the schema rejects or a result this tool lacks."""
        import jsonschema

        from vantagepoint.errors import ToolError

        errors = list(jsonschema.Draft202012Validator(cls.config_schema).iter_errors(config))
        if errors:
            raise ToolError(f"invalid {cls.name} config: " + "; ".join(
                f"{'/'.join(map(str, e.absolute_path)) or 'config'}: {e.message}"
                for e in errors))
        known = {r.name for r in cls.results}
        unknown = [n for n in requested if n not in known]
        if unknown and not cls.dynamic_results:
            raise ToolError(f"{cls.name} does not produce {', '.join(map(repr, unknown))} "
                            f"(it produces: {', '.join(sorted(known))})")

    def init(self, config: dict[str, Any], requested: list[str]) -> None:
        """Prepare; raise ToolError to refuse (the execution is then canceled)."""

    def run(self, ctx: RunContext) -> None:
        """Measure during the activity period."""
        raise NotImplementedError

    def finish(self) -> None:
        """Release what init acquired."""


Emitter = Callable[[str, Any, float], None]
Logger = Callable[[str, str], None]


@dataclass
class RunContext:
    """What a running tool sees: result and log sinks and the end of its period."""

    emitter: Emitter
    logger: Logger
    end: float
    requested: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def emit(self, result: str, value: Any, ts: float | None = None) -> None:
        """Record one result value (``ts`` in epoch seconds, now when omitted)."""
        self.emitter(result, value, time.time() if ts is None else ts)

    def log(self, message: str, level: str = "info") -> None:
        """Write a line to the execution log."""
        self.logger(message, level)

    @property
    def stopping(self) -> bool:
        """True once the activity period is over or the execution was canceled."""
        return self._stop.is_set() or time.time() >= self.end

    @property
    def remaining(self) -> float:
        return max(0.0, self.end - time.time())

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds`` or until stopping; return True if stopping."""
        self._stop.wait(max(0.0, min(seconds, self.remaining)))
        return self.stopping

    def stop(self) -> None:
        self._stop.set()
