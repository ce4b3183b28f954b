"""The ``command`` tool: run an existing program and turn its output into results.

``argv`` is a template: ``{name}`` is filled from ``vars`` (``{{`` and ``}}``
are literal braces). Every output line is searched with each ``parse``
pattern; each named group that matched emits a result of that name, converted
to the type ``types`` gives it (``string`` when the group is not listed).

The program runs without a shell in its own session, so that stopping it at
the end of its period (SIGTERM, then SIGKILL) reaches its children too.
``exit_status`` is the program's status, or minus the signal that ended it.
"""

from __future__ import annotations

import math
import os
import queue
import re
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any

import jsonschema

from vantagepoint.errors import ToolError
from vantagepoint.spec.tools import NAME_PATTERN, ResultSpec
from vantagepoint.tools.base import ActionEnv, RunContext, Tool

TYPES = ("number", "integer", "string", "boolean")
POLL = 0.1  # seconds between checks of the period's end
KILL_GRACE = 2.0  # seconds between SIGTERM and SIGKILL
DRAIN = 1.0  # seconds to wait for output still held open by background children
MAX_LINE = 65536
MAX_STDERR_LINES = 200

CONFIG_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["argv"],
    "properties": {
        "argv": {"type": "array", "minItems": 1, "items": {"type": "string"},
                 "description": "Program and arguments, run without a shell; {name} is "
                                "replaced by vars[name], {{ and }} are literal braces."},
        "vars": {"type": "object",
                 "additionalProperties": {"type": ["string", "number", "boolean"]},
                 "description": "Values for the argv placeholders."},
        "parse": {"type": "array", "items": {
            "type": "object", "additionalProperties": False, "required": ["pattern"],
            "properties": {
                "pattern": {"type": "string", "minLength": 1,
                            "description": "Regular expression searched in each line; "
                                           "each named group is a result."},
                "types": {"type": "object", "additionalProperties": {"enum": list(TYPES)},
                          "description": "Type of each group's result; 'string' when "
                                         "not listed."},
            }}},
        "stream": {"enum": ["stdout", "stderr", "both"], "default": "stdout",
                   "description": "Which output the patterns are searched in."},
        "timeout": {"type": "number", "exclusiveMinimum": 0,
                    "description": "Seconds after which the program is stopped."},
        "cwd": {"type": "string", "minLength": 1,
                "description": "Working directory (default: the action's result store, "
                               "whose files the core can fetch)."},
        "env": {"type": "object", "additionalProperties": {"type": "string"},
                "description": "Variables added to the agent's environment."},
    },
    "examples": [{
        "argv": ["/bin/sh", "-c", "for i in 1 2 3; do echo value=$i; done"],
        "parse": [{"pattern": r"value=(?P<value>\d+)", "types": {"value": "integer"}}],
    }],
}

RESULTS = [
    ResultSpec(name="exit_status", type="integer",
               description="Exit status of the program (minus the signal that ended it)."),
    ResultSpec(name="duration_s", type="number", unit="s", conditionable=False,
               description="How long the program ran."),
]
STATIC = {r.name for r in RESULTS}


def _to_number(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text!r} is not a finite number")
    return value


def _to_bool(text: str) -> bool:
    word = text.strip().lower()
    if word in ("true", "yes", "on", "1"):
        return True
    if word in ("false", "no", "off", "0"):
        return False
    raise ValueError(f"{text!r} is not a boolean")


CONVERT: dict[str, Callable[[str], Any]] = {
    "number": _to_number, "integer": int, "string": str, "boolean": _to_bool,
}


@dataclass(frozen=True)
class Pattern:
    """One compiled parse rule: its regex and the type of each named group."""

    regex: re.Pattern[str]
    types: dict[str, str]

    def values(self, line: str) -> Iterator[tuple[str, str, str]]:
        """(group, type, text) for every named group that matched ``line``."""
        found = self.regex.search(line)
        if found is None:
            return
        for group, text in found.groupdict().items():
            if text is not None:
                yield group, self.types[group], text


def compile_pattern(index: int, rule: dict[str, Any]) -> Pattern:
    """Compile ``parse[index]``, refusing what would produce no or bad results."""
    where = f"parse[{index}]"
    try:
        regex = re.compile(rule["pattern"])
    except re.error as exc:
        raise ToolError(f"{where}.pattern is not a valid regular expression: {exc}") from exc
    groups = list(regex.groupindex)
    if not groups:
        raise ToolError(f"{where}.pattern has no named group (?P<name>...), "
                        "so it produces no result")
    for group in groups:
        if group in STATIC or not re.fullmatch(NAME_PATTERN, group):
            raise ToolError(f"{where}: group {group!r} cannot be a result name "
                            f"(reserved, or longer than 64 characters)")
    types = rule.get("types", {})
    for group in types:
        if group not in groups:
            raise ToolError(f"{where}.types names {group!r}, which is not a group of "
                            f"its pattern (groups: {', '.join(groups)})")
    return Pattern(regex, {g: types.get(g, "string") for g in groups})


def fill_argv(argv: list[str], values: dict[str, Any]) -> list[str]:
    """Replace the ``{name}`` placeholders of ``argv`` with ``values``."""
    values = {k: str(v).lower() if isinstance(v, bool) else v for k, v in values.items()}
    filled = []
    for i, item in enumerate(argv):
        try:
            filled.append(item.format_map(values))
        except KeyError as exc:
            raise ToolError(f"argv[{i}] uses {{{exc.args[0]}}} but vars has no "
                            f"{exc.args[0]!r} (write {{{{ and }}}} for literal braces)") from exc
        except (ValueError, IndexError, AttributeError) as exc:
            raise ToolError(f"argv[{i}] is not a valid template: {exc} "
                            "(write {{ and }} for literal braces)") from exc
    return filled


def find_program(program: str, cwd: str | None, env: dict[str, str] | None) -> None:
    """Refuse a program that is not on PATH (or not executable at its path)."""
    if os.sep in program:
        path = os.path.join(cwd or "", program)
        found = os.path.isfile(path) and os.access(path, os.X_OK)
    else:
        found = shutil.which(program, path=(env or os.environ).get("PATH")) is not None
    if not found:
        raise ToolError(f"program {program!r} not found on this node")


class Command(Tool):
    """Any program as a tool: results parsed from its output lines."""

    name = "command"
    version = "1.0"
    description = "Run a program; regular expressions turn its output lines into results."
    config_schema = CONFIG_SCHEMA
    results = RESULTS
    dynamic_results = True

    def __init__(self, env: ActionEnv):
        super().__init__(env)
        self.child: _Child | None = None

    def init(self, config: dict[str, Any], requested: list[str]) -> None:
        """Check the config, fill argv, compile the patterns, find the program."""
        _validate(config)
        self.argv = fill_argv(config["argv"], config.get("vars", {}))
        self.patterns = [compile_pattern(i, r) for i, r in enumerate(config.get("parse", []))]
        stream = config.get("stream", "stdout")
        self.streams = ("stdout", "stderr") if stream == "both" else (stream,)
        self.timeout: float | None = config.get("timeout")
        self.cwd: str | None = config.get("cwd") or self.env.workdir
        self.environ = {**os.environ, **config["env"]} if "env" in config else None
        if self.cwd is not None and not os.path.isdir(self.cwd):
            raise ToolError(f"cwd {self.cwd!r} is not a directory on this node")
        find_program(self.argv[0], self.cwd, self.environ)
        _check_requested(requested, self.patterns)

    def run(self, ctx: RunContext) -> None:
        """Run the program, parse its output, stop it at the end of its period."""
        started = time.monotonic()
        try:
            self.child = _Child(self.argv, self.cwd, self.environ)
        except OSError as exc:
            raise ToolError(f"cannot start {self.argv[0]!r}: {exc.strerror or exc}") from exc
        self.stderr_logged = 0
        reason = self._follow(ctx, started)
        if reason:
            ctx.log(f"{self.argv[0]} killed {reason}", "info" if ctx.stopping else "warning")
        status = self.child.stop()
        duration = time.monotonic() - started
        self._drain(ctx)
        ctx.emit("exit_status", status)
        ctx.emit("duration_s", duration)
        ctx.log(f"{self.argv[0]} {_describe(status)} after {duration:.3f} s")

    def finish(self) -> None:
        """Make sure the program and its children are gone."""
        if self.child is not None:
            self.child.stop()

    def _follow(self, ctx: RunContext, started: float) -> str | None:
        """Handle output until the program ends; why it must be killed, if it must."""
        exited_at = None
        while self.child.open_streams and (exited_at is None or
                                           time.monotonic() - exited_at < DRAIN):
            if ctx.stopping:
                return "at the end of its period"
            if self.timeout is not None and time.monotonic() - started >= self.timeout:
                return f"after its timeout of {self.timeout:g} s"
            if exited_at is None and self.child.proc.poll() is not None:
                exited_at = time.monotonic()
            self._handle(ctx, self.child.next_line(POLL))
        return None

    def _drain(self, ctx: RunContext) -> None:
        """Handle the lines still queued once the program is gone."""
        deadline = time.monotonic() + DRAIN
        while self.child.open_streams and time.monotonic() < deadline:
            self._handle(ctx, self.child.next_line(POLL))

    def _handle(self, ctx: RunContext, item: tuple[str, str] | None) -> None:
        if item is None:
            return
        stream, line = item
        parsed = stream in self.streams and self._parse(ctx, line)
        if stream == "stderr" and not parsed:
            self._log_stderr(ctx, line)

    def _parse(self, ctx: RunContext, line: str) -> bool:
        """Emit the results found in ``line``; whether any pattern matched."""
        matched = False
        for pattern in self.patterns:
            for group, kind, text in pattern.values(line):
                matched = True
                try:
                    ctx.emit(group, CONVERT[kind](text))
                except ValueError:
                    ctx.log(f"result {group!r}: cannot read {text!r} as {kind}", "warning")
        return matched

    def _log_stderr(self, ctx: RunContext, line: str) -> None:
        self.stderr_logged += 1
        if self.stderr_logged <= MAX_STDERR_LINES:
            ctx.log(line, "warning")
        elif self.stderr_logged == MAX_STDERR_LINES + 1:
            ctx.log(f"more than {MAX_STDERR_LINES} stderr lines: the rest is not logged",
                    "warning")


def _validate(config: dict[str, Any]) -> None:
    errors = list(jsonschema.Draft202012Validator(CONFIG_SCHEMA).iter_errors(config))
    if errors:
        raise ToolError("invalid command config: " + "; ".join(
            f"{'/'.join(map(str, e.absolute_path)) or 'config'}: {e.message}" for e in errors))


def _check_requested(requested: list[str], patterns: list[Pattern]) -> None:
    groups = sorted({g for p in patterns for g in p.types})
    for name in requested:
        if name not in STATIC and name not in groups:
            raise ToolError(f"result {name!r} is not produced by any parse pattern "
                            f"(groups: {', '.join(groups) or 'none'})")


def _describe(status: int) -> str:
    if status >= 0:
        return f"exited with status {status}"
    try:
        return f"ended by {signal.Signals(-status).name}"
    except ValueError:
        return f"ended by signal {-status}"


class _Child:
    """A running program in its own session, its output lines on a queue."""

    def __init__(self, argv: list[str], cwd: str | None, env: dict[str, str] | None):
        self.proc = subprocess.Popen(
            argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, start_new_session=True,
        )
        self.lines: queue.Queue[tuple[str, str | None]] = queue.Queue()
        self.open_streams = 2
        self.status: int | None = None
        for name, pipe in (("stdout", self.proc.stdout), ("stderr", self.proc.stderr)):
            threading.Thread(target=_pump, args=(pipe, name, self.lines), daemon=True,
                             name=f"command-{name}").start()

    def next_line(self, timeout: float) -> tuple[str, str] | None:
        """The next (stream, line), or None when none came within ``timeout``."""
        try:
            stream, line = self.lines.get(timeout=timeout)
        except queue.Empty:
            return None
        if line is None:
            self.open_streams -= 1
            return None
        return stream, line

    def stop(self) -> int:
        """End the whole process group (SIGTERM, then SIGKILL); the exit status."""
        if self.status is not None:
            return self.status  # the group id may be reused once it is gone
        if self.proc.poll() is None:
            _signal_group(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(KILL_GRACE)
            except subprocess.TimeoutExpired:
                pass
        _signal_group(self.proc.pid, signal.SIGKILL)  # children left behind too
        self.status = self.proc.wait()
        return self.status


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass  # the group is already gone


def _pump(pipe: IO[bytes], stream: str, out: queue.Queue) -> None:
    """Put each line of ``pipe`` on ``out``, then (stream, None) at its end."""
    with pipe:
        for raw in iter(lambda: pipe.readline(MAX_LINE), b""):
            out.put((stream, raw.decode(errors="replace").rstrip("\r\n")))
    out.put((stream, None))
