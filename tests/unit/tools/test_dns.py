"""The dns tool against a real DNS server: dnsmasq with known records."""

from __future__ import annotations

import os
import shutil
import socket
import struct
import subprocess
import threading
import time

import pytest

from vantagepoint.errors import ToolError
from vantagepoint.testing import refusal, root_skip_reason, run_tool
from vantagepoint.tools import dnswire
from vantagepoint.tools.base import ActionEnv
from vantagepoint.tools.dns import Dns, query_name, system_resolver

SKIP = root_skip_reason()
needs_root = pytest.mark.skipif(SKIP is not None, reason=SKIP or "")
IN_CI = os.environ.get("CI") == "true"
BIG = ["a" * 200, "b" * 200, "c" * 200]  # 600 bytes of TXT: truncated over UDP
SOA = ("ns1.example.test", "admin.example.test", 2024010101, 3600, 600, 86400, 300)


def wire_name(name: str) -> bytes:
    return b"".join(bytes([len(label)]) + label.encode() for label in name.split(".")) + b"\0"


def dnsmasq_args(port: int, tmp) -> list[str]:
    soa = wire_name(SOA[0]) + wire_name(SOA[1]) + struct.pack("!IIIII", *SOA[2:])
    return [
        "dnsmasq", "--no-daemon", "--conf-file=/dev/null", "--no-hosts", "--no-resolv",
        f"--port={port}", "--listen-address=127.0.0.1", "--bind-interfaces",
        f"--pid-file={tmp}/dnsmasq.pid", *(["--user=root"] if os.geteuid() == 0 else []),
        "--address=/wild.test/192.0.2.10",
        "--host-record=host.example.test,192.0.2.20,2001:db8::20",
        "--cname=www.example.test,host.example.test",
        "--mx-host=example.test,mail.example.test,10",
        "--txt-record=example.test,v=spf1 -all",
        "--txt-record=big.example.test," + ",".join(BIG),
        f"--dns-rr=example.test,2,{wire_name('ns1.example.test').hex()}",
        f"--dns-rr=example.test,6,{soa.hex()}",
        "--local=/example.test/",  # names it does not know there are NXDOMAIN
    ]


def free_port() -> int:
    """A port free for both UDP and TCP on 127.0.0.1."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port = udp.getsockname()[1]
            with socket.socket() as tcp:
                try:
                    tcp.bind(("127.0.0.1", port))
                except OSError:
                    continue
        return port


@pytest.fixture(scope="module")
def dnsmasq(tmp_path_factory):
    """A dnsmasq on 127.0.0.1 serving the records above; its port."""
    if shutil.which("dnsmasq") is None:
        if IN_CI:
            pytest.fail("dnsmasq is not installed (CI=true: the DNS tests must run)")
        pytest.skip("dnsmasq is not installed (Debian package dnsmasq-base)")
    port = free_port()
    server = subprocess.Popen(dnsmasq_args(port, tmp_path_factory.mktemp("dnsmasq")),
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        _wait_listening(server, port)
        yield port
    finally:
        server.terminate()
        server.wait(10)


def _wait_listening(server: subprocess.Popen, port: int) -> None:
    for _ in range(100):
        if server.poll() is not None:
            raise AssertionError(f"dnsmasq exited: {server.stderr.read()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("dnsmasq did not start listening")


def ask(port: int, name: str, qtype: str = "A", env: ActionEnv | None = None, **config):
    """Run the tool once against 127.0.0.1:port; (results by name, log lines)."""
    config = {"name": name, "type": qtype, "server": "127.0.0.1", "port": port, **config}
    results, logs = run_tool(Dns, config, 10, env=env)
    return {n: v for n, v, _ in results}, [m for _, m in logs]


@pytest.mark.parametrize("name, qtype, answers", [
    ("host.example.test", "A", ["192.0.2.20"]),
    ("host.example.test", "AAAA", ["2001:db8::20"]),
    ("www.example.test", "A", ["host.example.test.", "192.0.2.20"]),
    ("www.example.test", "CNAME", ["host.example.test."]),
    ("example.test", "MX", ["10 mail.example.test."]),
    ("example.test", "TXT", ['"v=spf1 -all"']),
    ("example.test", "NS", ["ns1.example.test."]),
    ("example.test", "SOA", ["ns1.example.test. admin.example.test. 2024010101 3600 600 "
                             "86400 300"]),
    ("192.0.2.20", "PTR", ["host.example.test."]),
    ("20.2.0.192.in-addr.arpa", "PTR", ["host.example.test."]),
    ("anything.wild.test.", "A", ["192.0.2.10"]),
    ("example.test", "A", []),  # the name exists, without an address: no data
])
def test_answers_match_the_records_dnsmasq_serves(dnsmasq, name, qtype, answers):
    results, _ = ask(dnsmasq, name, qtype)
    assert results["rcode"] == "NOERROR"
    assert results["answers"] == answers and results["answer_count"] == len(answers)
    assert 0 < results["response_ms"] < 1000 and "error" not in results


def test_unknown_name_is_nxdomain(dnsmasq):
    results, logs = ask(dnsmasq, "nope.example.test")
    assert (results["rcode"], results["answers"], results["answer_count"]) == (
        "NXDOMAIN", [], 0)
    assert "NXDOMAIN" in logs[-1]


def test_a_name_it_may_not_forward_is_refused(dnsmasq):
    assert ask(dnsmasq, "example.org")[0]["rcode"] == "REFUSED"


def test_truncated_answer_is_asked_again_over_tcp(dnsmasq):
    results, logs = ask(dnsmasq, "big.example.test", "TXT")
    assert results["answers"] == [" ".join(f'"{s}"' for s in BIG)]
    assert any("truncated" in line for line in logs)


class Silent:
    """A UDP 'server' that reads queries and answers none (or answers as told)."""

    def __init__(self, reply=None):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port, self.queries, self.reply = self.sock.getsockname()[1], [], reply
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.done.is_set():
            try:
                data, peer = self.sock.recvfrom(512)
            except TimeoutError:
                continue
            self.queries.append(data)
            for answer in (self.reply(data) if self.reply else []):
                self.sock.sendto(answer, peer)

    def close(self) -> None:
        self.done.set()
        self.thread.join()
        self.sock.close()


def test_no_answer_is_retried_then_reported_as_a_timeout():
    server = Silent()
    try:
        started = time.monotonic()
        results, logs = ask(server.port, "host.example.test", timeout=0.2, retries=2)
        took = time.monotonic() - started
    finally:
        server.close()
    assert results == {"error": "timeout: no answer from 127.0.0.1 to 3 attempts of 0.2 s"}
    assert len(server.queries) == 3 and 0.55 < took < 3
    assert len({q[:2] for q in server.queries}) == 3  # a new id for each attempt


def test_answers_to_another_query_are_ignored():
    def reply(query: bytes) -> list[bytes]:
        qid, flags = struct.unpack_from("!HH", query)
        wrong = struct.pack("!HH", qid ^ 1, flags | 0x8003) + query[4:]  # NXDOMAIN, other id
        right = struct.pack("!HH", qid, flags | 0x8000) + query[4:]
        return [wrong, right]

    server = Silent(reply)
    try:
        results, _ = ask(server.port, "host.example.test", timeout=1, retries=0)
    finally:
        server.close()
    assert (results["rcode"], results["answers"]) == ("NOERROR", [])


def test_nothing_listening_is_reported_as_refused():
    port = free_port()
    results, _ = ask(port, "host.example.test", timeout=0.5, retries=2)
    assert results == {"error": f"refused: nothing listens on 127.0.0.1 port {port}"}


@needs_root
def test_bound_to_a_device(dnsmasq):
    results, _ = ask(dnsmasq, "host.example.test", env=ActionEnv("op0", "d", device="lo"))
    assert results["answers"] == ["192.0.2.20"]
    with pytest.raises(ToolError, match="device 'nosuchdev0'.*does not exist"):
        ask(dnsmasq, "host.example.test", env=ActionEnv("op0", "d", device="nosuchdev0"))


@pytest.mark.parametrize("config", [
    {}, {"name": ""}, {"name": "a.test", "type": "ANY"}, {"name": "a.test", "port": 0},
    {"name": "a.test", "retries": -1}, {"name": "a.test", "timeout": 0},
    {"name": "a.test", "recurse": "yes"}, {"name": "a.test", "tcp": True},
])
def test_bad_config_is_refused_by_the_schema(config):
    assert refusal(Dns, config).startswith("schema:")


def test_bad_name_and_server_are_refused_at_init():
    long_label = {"name": "x" * 64 + ".test", "server": "127.0.0.1"}
    assert "must be 1 to 63 bytes" in refusal(Dns, long_label)
    assert "must be 1 to 63 bytes" in refusal(Dns, {"name": "a..test", "server": "127.0.0.1"})
    assert "cannot resolve DNS server" in refusal(Dns, {"name": "a.test",
                                                        "server": "no-such.invalid"})


def test_query_names():
    assert query_name("example.test", "A") == "example.test."
    assert query_name("2001:db8::1", "PTR").endswith(".8.b.d.0.1.0.0.2.ip6.arpa.")
    assert query_name("192.0.2.1", "A") == "192.0.2.1."


def test_system_resolver_reads_resolv_conf(tmp_path):
    conf = tmp_path / "resolv.conf"
    conf.write_text("# comment\nsearch example.test\nnameserver 192.0.2.53\nnameserver ::1\n")
    assert system_resolver(str(conf)) == "192.0.2.53"
    conf.write_text("search example.test\n")
    with pytest.raises(ToolError, match="lists no nameserver"):
        system_resolver(str(conf))


def test_wire_names_decompress_escape_and_refuse_loops():
    header = struct.pack("!HHHHHH", 1, 0x8180, 0, 1, 0, 0)
    name = b"\x01a\x03b.c\x04test\x00"  # a label holding a dot
    record = name + struct.pack("!HHIH", 5, 1, 60, 2) + b"\xc0\x0c"  # CNAME to itself
    message = dnswire.parse(header + record)
    assert message.answers[0].name == "a.b\\.c.test."
    assert message.answers[0].data == "a.b\\.c.test."
    looping = header + b"\xc0\x0c"
    with pytest.raises(dnswire.WireError, match="loops"):
        dnswire.parse(looping + struct.pack("!HHIH", 1, 1, 60, 4) + bytes(4))
    with pytest.raises(dnswire.WireError):
        dnswire.parse(header[:8])
