"""Real snmpd and chronyd for tool tests: temp configs, own ports, never the host's clock.

Each helper takes ``wrap``, a command prefix such as ``ip netns exec vpt-n2``,
to start the daemon inside a testbed node; without it they run on loopback.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI") == "true"
SYS_NAME, SYS_LOCATION = "vp-snmp-test", "rack 7, row 3"
SERVER_STRATUM = 8


def require(program: str, package: str) -> None:
    """Skip (fail under CI=true) when ``program`` or root is missing."""
    reason = None
    if shutil.which(program) is None:
        reason = f"{program} is not installed (Debian package {package})"
    elif os.geteuid() != 0:
        reason = f"{program} tests run the daemon as root"
    if reason and IN_CI:
        pytest.fail(reason + " (CI=true: these tests must run)")
    if reason:
        pytest.skip(reason)


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Daemon:
    """A daemon we started; stopped by its own process handle."""

    process: subprocess.Popen
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _start(argv: list[str], log: Path, wrap: list[str], env: dict | None = None) -> Daemon:
    with open(log, "ab") as sink:
        process = subprocess.Popen([*wrap, *argv], stdout=sink, stderr=subprocess.STDOUT,
                                   env={**os.environ, **(env or {})})
    return Daemon(process, log)


def _wait(daemon: Daemon, ready, what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if daemon.process.poll() is not None:
            raise AssertionError(f"{what} exited: {daemon.log.read_text(errors='replace')}")
        if ready():
            return
        time.sleep(0.1)
    daemon.stop()
    raise AssertionError(f"{what} did not become ready: {daemon.log.read_text()[-2000:]}")


def start_snmpd(tmp: Path, address: str, port: int, community: str,
                wrap: list[str] = ()) -> Daemon:
    """snmpd answering ``community`` on address:port with a known sysName and sysLocation."""
    conf = tmp / "snmpd.conf"
    conf.write_text(f"agentAddress udp:{address}:{port}\nrocommunity {community} default\n"
                    f"sysName {SYS_NAME}\nsysLocation {SYS_LOCATION}\n"
                    f"persistentDir {tmp}\n")
    argv = ["snmpd", "-f", "-Lo", "-C", "-c", str(conf), "-p", str(tmp / "snmpd.pid"),
            "-I", "-smux,mteTrigger,mteTriggerConf"]
    daemon = _start(argv, tmp / "snmpd.log", list(wrap), {"MIBS": ""})
    probe = [*wrap, "snmpget", "-v2c", "-c", community, "-m", "", "-t", "0.3", "-r", "0",
             f"udp:{address}:{port}", "1.3.6.1.2.1.1.5.0"]
    _wait(daemon, lambda: SYS_NAME in subprocess.run(probe, capture_output=True,
                                                     text=True).stdout, "snmpd")
    return daemon


def start_chronyd(tmp: Path, name: str, lines: list[str], wrap: list[str] = ()) -> Daemon:
    """chronyd -x (never touches the system clock) with a command socket in ``tmp``."""
    tmp.chmod(0o700)  # chronyd refuses a socket directory others may write to
    conf = tmp / f"{name}.conf"
    conf.write_text("\n".join([f"pidfile {tmp / name}.pid",
                               f"bindcmdaddress {tmp / name}.sock", "cmdport 0", *lines]) + "\n")
    daemon = _start(["chronyd", "-x", "-d", "-u", "root", "-f", str(conf)],
                    tmp / f"{name}.log", list(wrap))
    _wait(daemon, lambda: (tmp / f"{name}.sock").exists(), f"chronyd {name}")
    return daemon


def start_chrony_pair(tmp: Path, wrap: list[str] = ()) -> tuple[Daemon, Daemon, Path]:
    """A chronyd serving NTP at stratum 8 on loopback and one synchronising to it.

    Returns both and the client's command socket once the client follows the server.
    """
    port = free_udp_port()
    server = start_chronyd(tmp, "server", [f"port {port}", "bindaddress 127.0.0.1",
                                           "allow 127.0.0.1", f"local stratum {SERVER_STRATUM}"],
                           wrap)
    client = start_chronyd(tmp, "client", [
        "port 0", f"server 127.0.0.1 port {port} iburst minpoll -4 maxpoll -4"], wrap)
    sock = tmp / "client.sock"
    tracking = [*wrap, "chronyc", "-n", "-c", "-h", str(sock), "tracking"]
    _wait(client, lambda: subprocess.run(tracking, capture_output=True, text=True)
          .stdout.startswith("7F000001"), "the chronyd client to synchronise", 30)
    return server, client, sock
