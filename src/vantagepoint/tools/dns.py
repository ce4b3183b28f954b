"""The ``dns`` tool: one query to one DNS server, its response time and answers.

The query goes over UDP (bound to ``env.device`` when set), is repeated up to
``retries`` times when no answer came within ``timeout``, and is asked again
over TCP when the UDP answer was truncated. Only a response with the query's
id and question counts. Without ``server`` the system's first ``nameserver``
(``/etc/resolv.conf``) is asked. A PTR query for an address asks for its
reverse name (``192.0.2.1`` becomes ``1.2.0.192.in-addr.arpa``).

``response_ms`` runs from sending the answered query to its answer (over TCP
after truncation: to the complete TCP answer, connection setup included).
``answers`` holds the answer section's data as ``dig +short`` prints it. When
no answer came, the run emits ``error`` instead, saying why.
"""

from __future__ import annotations

import errno
import ipaddress
import secrets
import select
import socket
import struct
import time
from dataclasses import dataclass
from typing import Any

from vantagepoint.errors import ToolError
from vantagepoint.spec.tools import ResultSpec
from vantagepoint.tools import dnswire
from vantagepoint.tools.base import ActionEnv, RunContext, Tool

POLL = 0.1  # longest select, so that a cancellation is noticed promptly
RESOLV_CONF = "/etc/resolv.conf"

CONFIG_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 253,
                 "description": "The name to look up (an address, for PTR)."},
        "type": {"enum": list(dnswire.TYPES), "default": "A",
                 "description": "The record type asked for."},
        "server": {"type": "string", "minLength": 1,
                   "description": "Address or host name of the server (default: the "
                                  "first nameserver in /etc/resolv.conf)."},
        "port": {"type": "integer", "minimum": 1, "maximum": 65535, "default": 53},
        "timeout": {"type": "number", "exclusiveMinimum": 0, "maximum": 60, "default": 2.0,
                    "description": "Seconds to wait for each UDP attempt, and for TCP."},
        "retries": {"type": "integer", "minimum": 0, "maximum": 10, "default": 2,
                    "description": "UDP attempts after the first when none is answered."},
        "recurse": {"type": "boolean", "default": True,
                    "description": "Ask the server to recurse (the RD flag)."},
    },
    "examples": [{"name": "localhost", "server": "127.0.0.1", "timeout": 0.3, "retries": 0},
                 {"name": "example.org", "type": "AAAA", "server": "9.9.9.9"}],
}

RESULTS = [
    ResultSpec(name="response_ms", type="number", unit="ms",
               description="From sending the answered query to its answer."),
    ResultSpec(name="rcode", type="string", conditionable=False,
               description="The response code: NOERROR, NXDOMAIN, SERVFAIL, REFUSED..."),
    ResultSpec(name="answers", type="array", conditionable=False,
               description="The answer section's data, as dig +short prints it."),
    ResultSpec(name="answer_count", type="integer", unit="records",
               description="Records in the answer section."),
    ResultSpec(name="error", type="string", conditionable=False,
               description="Why no answer came (timeout, refused...); only then."),
]


@dataclass(frozen=True)
class Settings:
    """A validated dns config with its defaults filled in."""

    name: str
    type: str = "A"
    server: str | None = None
    port: int = 53
    timeout: float = 2.0
    retries: int = 2
    recurse: bool = True


class Failed(Exception):
    """No usable answer; the message says why."""


class Dns(Tool):
    """One DNS query: response time, response code and answers."""

    name = "dns"
    version = "1.0"
    description = "DNS query (UDP, TCP on truncation): response time, rcode and answers."
    config_schema = CONFIG_SCHEMA
    results = RESULTS

    def __init__(self, env: ActionEnv):
        super().__init__(env)
        self.sock: socket.socket | None = None

    def init(self, config: dict[str, Any], requested: list[str]) -> None:
        """Check the config, encode the query, resolve the server and open the socket."""
        self.check_config(config, requested)
        s = self.settings = Settings(**config)
        self.qname = query_name(s.name, s.type)
        self.qid = secrets.randbits(16)
        try:
            self.packet = dnswire.query(self.qid, self.qname, s.type, s.recurse)
        except (dnswire.WireError, UnicodeError) as exc:
            raise ToolError(f"cannot query {s.name!r}: {exc}") from exc
        self.family, self.addr = resolve_server(s.server or system_resolver(), s.port)
        self.sock = self._socket(socket.SOCK_DGRAM)
        try:
            self.sock.connect(self.addr)
        except OSError as exc:
            raise ToolError(f"cannot reach DNS server {self.addr[0]}: {exc.strerror}") from exc
        self.sock.setblocking(False)

    def run(self, ctx: RunContext) -> None:
        """Ask once (retrying, falling back to TCP); emit the answer or the error."""
        s = self.settings
        ctx.log(f"dns {s.type} {self.qname} at {self.addr[0]} port {self.addr[1]} from "
                f"{self.env.node} ({self.env.device or self.env.interface or 'default route'})")
        try:
            message, took = self._ask(ctx)
        except Failed as exc:
            ctx.emit("error", str(exc))
            ctx.log(f"no answer: {exc}", "warning")
            return
        answers = [r.data for r in message.answers]
        ctx.emit("response_ms", took)
        ctx.emit("rcode", message.rcode)
        ctx.emit("answers", answers)
        ctx.emit("answer_count", len(answers))
        ctx.log(f"{message.rcode} in {took:.3f} ms: {', '.join(answers) or 'no answers'}")

    def finish(self) -> None:
        """Close the socket."""
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def _socket(self, kind: int) -> socket.socket:
        sock = socket.socket(self.family, kind)
        if self.env.device:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE,
                                self.env.device.encode())
            except OSError as exc:
                sock.close()
                reason = ("it does not exist on this node" if exc.errno == errno.ENODEV
                          else exc.strerror)
                raise ToolError(f"cannot bind dns to device {self.env.device!r}: "
                                f"{reason}") from exc
        return sock

    def _ask(self, ctx: RunContext) -> tuple[dnswire.Message, float]:
        attempts = 1 + self.settings.retries
        for attempt in range(attempts):
            if ctx.stopping:
                raise Failed("the period ended before an answer came")
            self.qid = secrets.randbits(16)  # a late answer to an earlier try is not this one's
            self.packet = dnswire.query(self.qid, self.qname, self.settings.type,
                                        self.settings.recurse)
            sent = time.perf_counter()
            self._send()
            message = self._await(ctx, sent + self.settings.timeout)
            if message is not None:
                if message.truncated:
                    ctx.log("the UDP answer was truncated: asking again over TCP")
                    message = self._ask_tcp(ctx)
                return message, (time.perf_counter() - sent) * 1000
            if attempt + 1 < attempts:
                ctx.log(f"no answer within {self.settings.timeout:g} s: retrying")
        raise Failed(f"timeout: no answer from {self.addr[0]} to {attempts} "
                     f"attempt{'s' if attempts > 1 else ''} of {self.settings.timeout:g} s")

    def _send(self) -> None:
        try:
            self.sock.send(self.packet)
        except OSError as exc:
            raise Failed(_failure(exc, self.addr)) from exc

    def _await(self, ctx: RunContext, deadline: float) -> dnswire.Message | None:
        """Our response over UDP, or None at the deadline."""
        while not ctx.stopping:
            left = deadline - time.perf_counter()
            if left <= 0:
                return None
            ready, _, _ = select.select([self.sock], [], [], min(left, POLL))
            while ready:
                try:
                    data = self.sock.recv(65535)
                except BlockingIOError:
                    break
                except OSError as exc:
                    raise Failed(_failure(exc, self.addr)) from exc
                message = self._ours(data)
                if message is not None:
                    return message
        return None

    def _ask_tcp(self, ctx: RunContext) -> dnswire.Message:
        budget = min(self.settings.timeout, max(ctx.remaining, 0.05))
        sock = self._socket(socket.SOCK_STREAM)
        try:
            sock.settimeout(budget)
            sock.connect(self.addr)
            sock.sendall(struct.pack("!H", len(self.packet)) + self.packet)
            (length,) = struct.unpack("!H", _read(sock, 2))
            message = self._ours(_read(sock, length))
        except TimeoutError as exc:
            raise Failed(f"timeout: no TCP answer from {self.addr[0]} within "
                         f"{budget:g} s") from exc
        except OSError as exc:
            raise Failed("over TCP: " + _failure(exc, self.addr)) from exc
        finally:
            sock.close()
        if message is None:
            raise Failed(f"the TCP answer from {self.addr[0]} does not match the query")
        return message

    def _ours(self, data: bytes) -> dnswire.Message | None:
        """The response if it answers our query; None for anything else."""
        try:
            message = dnswire.parse(data)
        except dnswire.WireError as exc:
            raise Failed(f"malformed answer from {self.addr[0]}: {exc}") from exc
        wanted = (self.qname.lower(), dnswire.TYPES[self.settings.type])
        if message.qid != self.qid or not message.is_response:
            return None
        if message.question is not None and (
                message.question[0].lower(), message.question[1]) != wanted:
            return None
        return message


def query_name(name: str, qtype: str) -> str:
    """The name to put in the question: fully qualified, reversed for a PTR of an address."""
    if qtype == "PTR":
        try:
            name = ipaddress.ip_address(name).reverse_pointer
        except ValueError:
            pass
    return name if name.endswith(".") else name + "."


def resolve_server(server: str, port: int) -> tuple[int, tuple]:
    """The family and socket address of the server."""
    try:
        infos = socket.getaddrinfo(server, port, type=socket.SOCK_DGRAM)
    except (socket.gaierror, UnicodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise ToolError(f"cannot resolve DNS server {server!r}: {reason}") from exc
    family, _, _, _, sockaddr = infos[0]
    return family, sockaddr


def system_resolver(path: str = RESOLV_CONF) -> str:
    """The first ``nameserver`` of resolv.conf; ToolError when there is none."""
    try:
        with open(path) as f:
            for line in f:
                words = line.split()
                if len(words) >= 2 and words[0] == "nameserver":
                    return words[1]
    except OSError as exc:
        raise ToolError(f"no server given and {path} cannot be read: {exc.strerror}") from exc
    raise ToolError(f"no server given and {path} lists no nameserver")


def _read(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise OSError(errno.ECONNRESET, "the server closed the connection early")
        data += chunk
    return data


def _failure(exc: OSError, addr: tuple) -> str:
    if exc.errno == errno.ECONNREFUSED:
        return f"refused: nothing listens on {addr[0]} port {addr[1]}"
    return f"{exc.strerror or exc} ({addr[0]} port {addr[1]})"
