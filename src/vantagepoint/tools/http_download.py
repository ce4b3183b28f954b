"""The ``http-download`` tool: fetch one URL, capped in size and time.

Like the reference testbed's default download (3 MB or 3600 s), it reports
the setup time, the time to the response, the transfer time and the goodput.
The socket is bound to the action's measurement interface (SO_BINDTODEVICE),
so the download takes that path whatever the routing table says; https
verifies the server certificate against the system store (or ``ca_file``).

Times: ``connect_ms`` is the TCP connect plus, for https, the TLS handshake;
``ttfb_ms`` runs from the request being sent to the response headers;
``download_s`` from the headers to the last body byte read; ``total_s`` from
the start (name resolution included) to the end. ``bytes`` counts body bytes
(after chunked decoding; no content encoding is requested). Redirects are not
followed: a 3xx is reported as its status.

A watchdog shuts the connection down at the time cap (or the end of the
period, if sooner), so a stalled server cannot hold the action.
"""

from __future__ import annotations

import http.client
import os
import socket
import ssl
import threading
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any

from vantagepoint.errors import ToolError
from vantagepoint.spec.tools import ResultSpec
from vantagepoint.tools.base import RunContext, Tool

DEFAULT_MAX_BYTES = 3_000_000
DEFAULT_MAX_SECONDS = 3600.0
CHUNK = 65536
WATCH = 0.05  # seconds between the watchdog's checks
USER_AGENT = "vantagepoint-http-download/1.0"

CONFIG_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["url"],
    "properties": {
        "url": {"type": "string", "pattern": "^[Hh][Tt][Tt][Pp][Ss]?://[^/?#]+",
                "description": "http:// or https:// URL to GET."},
        "max_bytes": {"type": "integer", "minimum": 1, "default": DEFAULT_MAX_BYTES,
                      "description": "Stop after this many body bytes (3 MB by default)."},
        "max_seconds": {"type": "number", "exclusiveMinimum": 0,
                        "default": DEFAULT_MAX_SECONDS,
                        "description": "Stop after this many seconds (also at the end "
                                       "of the period)."},
        "connect_timeout": {"type": "number", "exclusiveMinimum": 0, "default": 30,
                            "description": "Seconds allowed for each connection attempt."},
        "headers": {"type": "object", "additionalProperties": {"type": "string"},
                    "description": "Extra request headers."},
        "ca_file": {"type": "string", "minLength": 1,
                    "description": "PEM file of the CAs to trust for https (default: "
                                   "the system store)."},
    },
    "examples": [
        {"url": "http://127.0.0.1:9/3MB.bin", "max_seconds": 5},
        {"url": "https://speed.example.net/100MB.bin"},
        {"url": "http://198.51.100.7/file.bin", "max_bytes": 10000000, "max_seconds": 60},
    ],
}


def _ms(name: str, description: str) -> ResultSpec:
    return ResultSpec(name=name, type="number", unit="ms", description=description)


def _s(name: str, description: str) -> ResultSpec:
    return ResultSpec(name=name, type="number", unit="s", description=description)


RESULTS = [
    _ms("connect_ms", "TCP connect (plus TLS handshake for https)."),
    _ms("ttfb_ms", "From the request sent to the response headers received."),
    _s("download_s", "From the response headers to the last body byte."),
    _s("total_s", "From the start (name resolution included) to the end."),
    ResultSpec(name="bytes", type="integer", unit="B", description="Body bytes received."),
    ResultSpec(name="goodput_mbps", type="number", unit="Mbit/s",
               description="Body bytes over download_s."),
    ResultSpec(name="http_status", type="integer", description="HTTP status code."),
    ResultSpec(name="error", type="string", conditionable=False,
               description="Why the download failed (also a non-2xx status); empty when OK."),
    ResultSpec(name="ended", type="string", conditionable=False,
               description="How it ended: complete, size_cap, time_cap or error."),
    ResultSpec(name="remote_addr", type="string", conditionable=False,
               description="The server address connected to."),
]


@dataclass(frozen=True)
class Target:
    """What the URL names: scheme, host, port and request path."""

    https: bool
    host: str
    port: int
    path: str


def parse_url(url: str) -> Target:
    """Split a URL into a Target, refusing what cannot be fetched."""
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError as exc:
        raise ToolError(f"url {url!r} has an invalid port") from exc
    if scheme not in ("http", "https") or not parts.hostname:
        raise ToolError(f"url {url!r} is not an http:// or https:// URL with a host")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(scheme == "https", parts.hostname, port or (443 if scheme == "https" else 80),
                  path)


def bind_device(sock: socket.socket, device: str) -> None:
    """Send and receive only through ``device`` (SO_BINDTODEVICE)."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, device.encode())
    except OSError as exc:
        reason = "does not exist on this node" if not os.path.exists(
            f"/sys/class/net/{device}") else f"cannot be bound to: {exc.strerror}"
        raise ToolError(f"device {device!r} {reason} (SO_BINDTODEVICE needs CAP_NET_RAW)"
                        ) from exc


@dataclass
class Outcome:
    """What one download measured; None where it never got that far."""

    connect_s: float | None = None
    ttfb_s: float | None = None
    download_s: float | None = None
    total_s: float = 0.0
    bytes: int | None = None
    status: int | None = None
    error: str = ""
    ended: str = "error"
    remote: str | None = None


class HttpDownload(Tool):
    """GET one URL through the measurement interface, capped in bytes and seconds."""

    name = "http-download"
    version = "1.0"
    description = ("HTTP(S) GET capped in size and time: connect time, time to first "
                   "byte, download time, goodput.")
    config_schema = CONFIG_SCHEMA
    results = RESULTS

    def init(self, config: dict[str, Any], requested: list[str]) -> None:
        """Check the config, the URL, the CA file and that the device can be bound."""
        self.check_config(config, requested)
        self.config = config
        self.target = parse_url(config["url"])
        self.max_bytes: int = config.get("max_bytes", DEFAULT_MAX_BYTES)
        self.max_seconds: float = config.get("max_seconds", DEFAULT_MAX_SECONDS)
        ca_file = config.get("ca_file")
        if ca_file is not None and not os.path.isfile(ca_file):
            raise ToolError(f"ca_file {ca_file!r} is not a file on this node")
        if self.env.device:
            with socket.socket() as probe:
                bind_device(probe, self.env.device)

    def run(self, ctx: RunContext) -> None:
        """Download until complete, a cap or the end of the period; emit the outcome."""
        t = self.target
        where = self.env.device or "default route"
        ctx.log(f"GET {self.config['url']} via {where}, at most {self.max_bytes} bytes "
                f"and {min(self.max_seconds, ctx.remaining):g} s")
        outcome = _Download(self, ctx).run()
        report(ctx, outcome, t)


def report(ctx: RunContext, o: Outcome, t: Target) -> None:
    """Emit the results that were measured and log one summary line."""
    if o.connect_s is not None:
        ctx.emit("connect_ms", o.connect_s * 1000)
        ctx.emit("remote_addr", o.remote or "")
    if o.status is not None:
        ctx.emit("http_status", o.status)
        ctx.emit("ttfb_ms", (o.ttfb_s or 0.0) * 1000)
    if o.bytes is not None and o.download_s is not None:
        ctx.emit("bytes", o.bytes)
        ctx.emit("download_s", o.download_s)
        if o.download_s > 0:
            ctx.emit("goodput_mbps", o.bytes * 8 / o.download_s / 1e6)
    ctx.emit("total_s", o.total_s)
    ctx.emit("ended", o.ended)
    ctx.emit("error", o.error)
    line = f"{t.host}:{t.port}: {o.ended}"
    if o.status is not None:
        line += f", status {o.status}, {o.bytes} bytes in {o.download_s:.3f} s"
    line += f", total {o.total_s:.3f} s"
    ctx.log(line + (f": {o.error}" if o.error else ""), "warning" if o.error else "info")


class _Download:
    """One GET: resolve, connect, request, read the body under a watchdog."""

    def __init__(self, tool: HttpDownload, ctx: RunContext):
        self.tool, self.ctx, self.t = tool, ctx, tool.target
        self.start = time.monotonic()
        self.deadline = self.start + min(tool.max_seconds, ctx.remaining)
        self.out = Outcome()
        self.sock: socket.socket | None = None
        self.response: http.client.HTTPResponse | None = None
        self.cut = threading.Event()  # the watchdog shut the connection down
        self.done = threading.Event()

    def run(self) -> Outcome:
        watchdog = threading.Thread(target=self._watch, daemon=True, name="http-watchdog")
        watchdog.start()
        try:
            self._fetch()
        except (OSError, http.client.HTTPException, ValueError) as exc:
            self._failed(exc)
        finally:
            self.done.set()
            watchdog.join()
            if self.response is not None:
                self.response.close()
            if self.sock is not None:
                self.sock.close()
        self.out.total_s = time.monotonic() - self.start
        return self.out

    def _fetch(self) -> None:
        self.sock = self._connect()
        conn_class = http.client.HTTPSConnection if self.t.https else http.client.HTTPConnection
        conn = conn_class(self.t.host, self.t.port)
        conn.sock = self.sock
        headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity",
                   "Connection": "close", **self.tool.config.get("headers", {})}
        conn.request("GET", self.t.path, headers=headers)
        asked = time.monotonic()
        response = self.response = conn.getresponse()
        got = time.monotonic()
        self.out.ttfb_s, self.out.status = got - asked, response.status
        self.out.bytes, self.out.download_s = 0, 0.0
        if not 200 <= response.status < 300:
            self.out.error = f"HTTP {response.status} {response.reason}".rstrip()
        self._read_body(response, got)

    def _connect(self) -> socket.socket:
        infos = socket.getaddrinfo(self.t.host, self.t.port, type=socket.SOCK_STREAM)
        failure: OSError = OSError(f"no address for {self.t.host}")
        for family, kind, proto, _, addr in infos:
            sock = socket.socket(family, kind, proto)
            self.sock = sock  # the watchdog may shut it down
            try:
                return self._open(sock, addr)
            except OSError as exc:  # refused, unreachable, timed out: try the next one
                sock.close()
                self.sock, failure = None, exc
                if self.cut.is_set():
                    break
        raise failure

    def _open(self, sock: socket.socket, addr: tuple) -> socket.socket:
        if self.tool.env.device:
            bind_device(sock, self.tool.env.device)
        began = time.monotonic()
        sock.settimeout(max(0.001, min(self.tool.config.get("connect_timeout", 30),
                                       self.deadline - began)))
        sock.connect(addr)
        if self.t.https:
            tls = ssl.create_default_context(cafile=self.tool.config.get("ca_file"))
            sock = tls.wrap_socket(sock, server_hostname=self.t.host)
            self.sock = sock
        sock.settimeout(None)  # from here the watchdog bounds every read
        self.out.connect_s = time.monotonic() - began
        self.out.remote = addr[0]
        return sock

    def _read_body(self, response: http.client.HTTPResponse, began: float) -> None:
        cap = self.tool.max_bytes
        while self.out.bytes < cap:
            chunk = response.read1(min(CHUNK, cap - self.out.bytes))
            if not chunk:
                break
            self.out.bytes += len(chunk)
            self.out.download_s = time.monotonic() - began
        if self.cut.is_set():
            self.out.ended = "time_cap"
        elif self.out.bytes >= cap and response.length != 0 and not response.isclosed():
            self.out.ended = "size_cap"
        elif response.length:  # bytes the headers announced that never came
            self.out.error = (f"connection closed after {self.out.bytes} of "
                              f"{self.out.bytes + response.length} body bytes")
        else:
            self.out.ended = "complete"
        if self.out.error:
            self.out.ended = "error"

    def _failed(self, exc: BaseException) -> None:
        """Record an exception; at the time cap only a missing response is an error."""
        if not self.cut.is_set():
            self.out.error, self.out.ended = self._describe(exc), "error"
        elif self.out.status is None:
            self.out.error, self.out.ended = self._describe(exc), "time_cap"
        else:
            self.out.ended = "error" if self.out.error else "time_cap"

    def _watch(self) -> None:
        """Shut the connection down at the deadline or when the run is canceled."""
        while not self.done.wait(WATCH):
            if self.ctx.stopping or time.monotonic() >= self.deadline:
                self.cut.set()
                _shutdown(self.sock)
                return

    def _describe(self, exc: BaseException) -> str:
        if self.cut.is_set():
            return (f"stopped at the time cap ({self.deadline - self.start:.3g} s) before "
                    "the response arrived")
        if isinstance(exc, ssl.SSLCertVerificationError):
            return f"TLS certificate verification failed: {exc.verify_message}"
        if isinstance(exc, socket.gaierror):
            return f"cannot resolve {self.t.host!r}: {exc.strerror}"
        if isinstance(exc, TimeoutError):
            return f"connecting to {self.t.host}:{self.t.port} timed out"
        if isinstance(exc, http.client.HTTPException):
            return f"bad HTTP response: {type(exc).__name__} {exc}".rstrip()
        return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def _shutdown(sock: socket.socket | None) -> None:
    """Shut a connection down under a reader blocked on it (works for TLS too)."""
    if sock is None or sock.fileno() < 0:
        return
    try:
        with socket.socket(fileno=os.dup(sock.fileno())) as twin:
            twin.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # closed meanwhile, or never connected
