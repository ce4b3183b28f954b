"""A core and a local agent as child processes, for `vantage up` and `vantage demo`."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx

from vantagepoint.config import CoreSettings
from vantagepoint.wire import API_PREFIX

LOCAL_NODE = "local"
STOP_GRACE_SECONDS = 10.0


class StackError(Exception):
    """The local core or agent could not start, or stopped on its own."""


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def interrupt_on_sigterm() -> None:
    """Let SIGTERM unwind like Ctrl-C, so `finally` blocks stop what was started."""
    signal.signal(signal.SIGTERM, _raise_interrupt)


@dataclass
class Child:
    """One child process and the file its output goes to."""

    name: str
    process: subprocess.Popen
    log: Path
    sink: IO[bytes]

    def tail(self, lines: int = 25) -> str:
        """The last lines of its log."""
        self.sink.flush()
        text = self.log.read_text(errors="replace").splitlines()[-lines:]
        return "\n".join(text)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after a grace period."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.sink.close()


@dataclass
class LocalStack:
    """A running local core (and agent): where it answers and the admin token."""

    data: Path
    url: str
    admin_token: str
    children: list[Child] = field(default_factory=list)

    def check(self) -> None:
        """Raise StackError if a child has exited."""
        for child in self.children:
            code = child.process.poll()
            if code is not None:
                raise StackError(f"the {child.name} stopped (exit status {code}); "
                                 f"last lines of {child.log}:\n{child.tail()}")

    def wait_forever(self, poll: float = 0.5) -> None:
        """Block until interrupted or until a child exits."""
        while True:
            self.check()
            time.sleep(poll)

    def stop(self) -> None:
        """Stop the agent, then the core; a second Ctrl-C cannot cut this short."""
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            for child in reversed(self.children):
                child.stop()
        finally:
            signal.signal(signal.SIGINT, previous)


def url_for(host: str, port: int) -> str:
    """The URL clients use for a listening address (wildcards mean this machine)."""
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def port_free(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def core_settings(data: Path) -> CoreSettings:
    """The embedded default: a SQLite file and the admin token in the data directory."""
    return CoreSettings(database_url=f"sqlite:///{data}/core.db",
                        admin_token_file=data / "admin-token")


def bootstrap(settings: CoreSettings, agent: bool) -> tuple[str, str | None]:
    """Create the schema and admin if missing; return the admin and local node tokens."""
    try:
        from vantagepoint.core.bootstrap import ensure_admin, issue_node_token
    except ImportError as exc:
        raise StackError(f"the core cannot be loaded: {exc}") from exc
    token_file = settings.admin_token_file
    admin_token = ensure_admin(settings)
    if admin_token is None and token_file is not None and token_file.is_file():
        admin_token = token_file.read_text().strip()
    if not admin_token:
        raise StackError(f"the admin exists but its token file {token_file} is missing; "
                         "remove the data directory to start afresh")
    return admin_token, issue_node_token(settings, LOCAL_NODE) if agent else None


def spawn(name: str, args: list[str], log: Path, env: dict[str, str] | None = None) -> Child:
    """Start `python -m vantagepoint.cli.main ARGS` with its output in ``log``."""
    sink = log.open("wb")
    environ = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    argv = [sys.executable, "-m", "vantagepoint.cli.main", *args]
    process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=sink,
                               stderr=subprocess.STDOUT, env=environ)
    return Child(name, process, log, sink)


def wait_healthy(stack: LocalStack, timeout: float = 30.0) -> None:
    """Wait until GET /health answers, failing early if the core exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stack.check()
        try:
            if httpx.get(stack.url + API_PREFIX + "/health", timeout=1).is_success:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise StackError(f"the core did not answer at {stack.url} within {timeout:.0f} s; "
                     f"see {stack.children[0].log}")


# The embedded default is for trying things out: short runs, back to back. The
# environment still wins, so a user can set the production limits here too.
EMBEDDED_LIMITS = {k: os.environ.get(k, v) for k, v in {
    "VANTAGE_MIN_DURATION_SECONDS": "1", "VANTAGE_PADDING_SECONDS": "0"}.items()}


def _start_core(stack: LocalStack, settings: CoreSettings, host: str, port: int) -> None:
    args = ["core", "--host", host, "--port", str(port),
            "--database-url", settings.database_url,
            "--admin-token-file", str(settings.admin_token_file)]
    stack.children.append(spawn("core", args, stack.data / "core.log", EMBEDDED_LIMITS))
    wait_healthy(stack)


def _start_agent(stack: LocalStack, node_token: str) -> None:
    # The token goes by environment so it does not show in the process list.
    args = ["agent", "--core", stack.url, "--name", LOCAL_NODE,
            "--data", str(stack.data / "agent")]
    env = {"VANTAGE_AGENT_TOKEN": node_token}
    stack.children.append(spawn("agent", args, stack.data / "agent.log", env))


@contextmanager
def local_stack(data: Path, host: str, port: int, agent: bool = True) -> Iterator[LocalStack]:
    """Bootstrap ``data``, start core (and agent), yield, then stop them all."""
    data = data.resolve()
    data.mkdir(parents=True, exist_ok=True)
    settings = core_settings(data)
    admin_token, node_token = bootstrap(settings, agent)
    stack = LocalStack(data, url_for(host, port), admin_token)
    (data / "url").write_text(stack.url + "\n")
    try:
        _start_core(stack, settings, host, port)
        if node_token:
            _start_agent(stack, node_token)
        yield stack
    finally:
        stack.stop()
