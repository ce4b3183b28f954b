"""The shipped nginx config, run for real in front of two cores on one PostgreSQL.

TLS with a test CA: clients and the agent verify the proxy's certificate against it.
Needs root and nginx (scripts/system-deps installs it): skips otherwise, except CI=true.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.conftest import IN_CI
from tests.integration.test_duties_failover import book_ping, execution_of, finished_once
from tests.support import ADMIN_TOKEN, Core, free_port, spawn, start_core, wait_until
from vantagepoint.client import Client
from vantagepoint.tls import tls_context

pytestmark = pytest.mark.integration
SITE = Path(__file__).parents[2] / "deploy" / "nginx" / "vantagepoint.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def need_nginx() -> None:
    reason = None
    if not os.path.exists(NGINX):
        reason = "nginx is not installed (scripts/system-deps installs it)"
    elif os.geteuid() != 0:
        reason = "starting nginx with its own config needs root"
    if reason and IN_CI:
        pytest.fail(reason + " (CI=true: the nginx test must run)")
    if reason:
        pytest.skip(reason)


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_tls(tmp: Path) -> Path:
    """A test CA and a certificate for 127.0.0.1 signed by it; the directory."""
    tls = tmp / "tls"
    tls.mkdir()
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
            "-subj", "/CN=vantagepoint test CA", cwd=tls)
    openssl("req", *ec, "-keyout", "core.key", "-out", "core.csr", "-subj", "/CN=127.0.0.1",
            cwd=tls)
    (tls / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", "core.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "core.crt", "-days", "2", "-extfile", "san.ext", cwd=tls)
    return tls


def site_config(ports: list[int], http_port: int, https_port: int, tls: Path) -> str:
    """The shipped site with this test's ports and certificate, each edit checked."""
    text = SITE.read_text()
    edits = {"127.0.0.1:8081": f"127.0.0.1:{ports[0]}",
             "127.0.0.1:8082": f"127.0.0.1:{ports[1]}",
             "listen 80;\n    listen [::]:80;": f"listen 127.0.0.1:{http_port};",
             "listen 443 ssl;\n    listen [::]:443 ssl;": f"listen 127.0.0.1:{https_port} ssl;",
             "/etc/vantagepoint/tls/core.crt": str(tls / "core.crt"),
             "/etc/vantagepoint/tls/core.key": str(tls / "core.key")}
    for old, new in edits.items():
        assert old in text, f"the shipped nginx config no longer has {old!r}"
        text = text.replace(old, new)
    return text


def main_config(tmp: Path, site: Path) -> str:
    temp = "\n".join(f"  {kind}_temp_path {tmp}/{kind};"
                     for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return (f"user root;\nworker_processes 1;\npid {tmp}/nginx.pid;\n"
            f"error_log {tmp}/error.log;\nevents {{ worker_connections 256; }}\n"
            f"http {{\n  access_log {tmp}/access.log;\n{temp}\n  include {site};\n}}\n")


@pytest.fixture
def proxied(database_url, tmp_path):
    """Two cores on one database, the shipped nginx site in front; (cores, proxy, ...)."""
    need_nginx()
    cores = [start_core(database_url, tmp_path), start_core(database_url, tmp_path)]
    http_port, https_port = free_port(), free_port()
    tls = make_tls(tmp_path)
    site = tmp_path / "site.conf"
    site.write_text(site_config([int(c.url.rsplit(":", 1)[1]) for c in cores], http_port,
                                https_port, tls))
    (tmp_path / "nginx.conf").write_text(main_config(tmp_path, site))
    nginx = spawn("nginx", [NGINX, "-c", str(tmp_path / "nginx.conf"), "-g", "daemon off;"],
                  tmp_path)
    proxy = Core(f"https://127.0.0.1:{https_port}", nginx, database_url, tmp_path)
    try:
        yield cores, proxy, http_port, tls / "ca.crt"
    finally:
        nginx.stop()
        for core in [proxy, *cores]:
            for agent in core.agents:
                agent.stop()
            core.proc.stop()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_cores_behind_nginx_share_requests_and_run_duties_once(database_url, proxied):
    cores, proxy, http_port, ca = proxied
    url, nginx, verify = proxy.url, proxy.proc, tls_context(ca)

    def up():
        assert nginx.alive(), nginx.output()
        try:
            return httpx.get(url + "/api/v1/health", verify=verify, timeout=2).is_success
        except httpx.TransportError:
            return False

    wait_until(up, timeout=30, what="nginx to answer over TLS")
    seen = {httpx.get(url + "/api/v1/health", verify=verify).json()["process"]
            for _ in range(30)}
    direct = [httpx.get(c.url + "/api/v1/health").json() for c in cores]
    assert seen == {h["process"] for h in direct}, "requests did not reach both cores"

    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(url + "/api/v1/health")  # the system CAs do not know the test CA
    redirect = httpx.get(f"http://127.0.0.1:{http_port}/api/v1/health")
    assert redirect.status_code == 301 and redirect.headers["location"].startswith("https://")
    too_big = httpx.put(url + "/api/v1/scenarios/x", content=b"x" * (17 * 1024 * 1024),
                        verify=verify, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert too_big.status_code == 413
    assert httpx.get(url + "/metrics", verify=verify).status_code == 404  # never public
    assert httpx.get(cores[0].url + "/metrics").status_code == 200  # scraped per process

    # The agent and the client reach the cores only through nginx, verifying it.
    proxy.start_agent("n1", token=cores[0].node_token("n1"),
                      extra_env={"VANTAGE_AGENT_CA_BUNDLE": str(ca)})
    client = Client(url, ADMIN_TOKEN, transport=httpx.HTTPTransport(verify=verify))
    wait_until(lambda: any(n.online for n in client.nodes()), timeout=60, what="n1 online")
    finished_once(client, execution_of(client, book_ping(client, "n1", _soon())))
    runs = [httpx.get(c.url + "/api/v1/health").json() for c in cores]
    assert sorted(h["runs_duties"] for h in runs) == [False, True]
    assert [h["duty_ticks"] for h in runs if not h["runs_duties"]] == [0]


def _soon() -> datetime:
    return datetime.now(UTC) + timedelta(seconds=2)
