"""http-download against local HTTP(S) servers: sizes, caps, statuses, TLS, binding."""

from __future__ import annotations

import http.server
import os
import shutil
import ssl
import subprocess
import threading
import time
from functools import partial

import pytest

from vantagepoint.errors import ToolError
from vantagepoint.testing import root_skip_reason, run_tool
from vantagepoint.testing.contract import refusal
from vantagepoint.tools.base import ActionEnv
from vantagepoint.tools.http_download import HttpDownload, parse_url

SIZE = 5_000_000
SMALL = 12_345
SKIP = root_skip_reason()


class Handler(http.server.SimpleHTTPRequestHandler):
    """Files from a directory, plus a slow endpoint and one that breaks off."""

    def do_GET(self):
        if self.path == "/slow":
            self._headers(10_000_000)
            for _ in range(600):  # 1 kB every 50 ms: 30 s at most
                try:
                    self.wfile.write(b"x" * 1000)
                    self.wfile.flush()
                except OSError:
                    return
                time.sleep(0.05)
        elif self.path == "/short":
            self._headers(1000)
            self.wfile.write(b"x" * 500)
            self.close_connection = True
        elif self.path == "/silent":
            time.sleep(3)
        else:
            super().do_GET()

    def _headers(self, length: int) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(length))
        self.end_headers()

    def log_message(self, format, *args):
        pass


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # clients that stop at a cap reset their connection


def _serve(directory, wrap=None):
    server = Server(("127.0.0.1", 0), partial(Handler, directory=str(directory)))
    if wrap is not None:
        server.socket = wrap(server.socket)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    directory = tmp_path_factory.mktemp("www")
    (directory / "big.bin").write_bytes(os.urandom(SIZE))
    (directory / "small.bin").write_bytes(os.urandom(SMALL))
    return directory


@pytest.fixture(scope="module")
def base(files):
    server = _serve(files)
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def values(results):
    named = {}
    for name, value, _ in results:
        named.setdefault(name, []).append(value)
    return {n: v[0] if len(v) == 1 else v for n, v in named.items()}


def test_whole_file_is_counted(base):
    results, _ = run_tool(HttpDownload, {"url": f"{base}/small.bin"}, 10)
    r = values(results)
    assert r["bytes"] == SMALL and r["http_status"] == 200
    assert r["error"] == "" and r["ended"] == "complete" and r["remote_addr"] == "127.0.0.1"
    assert r["connect_ms"] > 0 and r["ttfb_ms"] > 0 and r["goodput_mbps"] > 0
    assert r["total_s"] >= r["download_s"]


def test_default_size_cap_is_3_mb(base):
    r = values(run_tool(HttpDownload, {"url": f"{base}/big.bin"}, 30)[0])
    assert r["bytes"] == 3_000_000 and r["ended"] == "size_cap" and r["error"] == ""


def test_size_cap_stops_at_the_cap(base):
    r = values(run_tool(HttpDownload, {"url": f"{base}/big.bin", "max_bytes": 100_001}, 10)[0])
    assert r["bytes"] == 100_001 and r["ended"] == "size_cap"


def test_file_below_the_cap_is_complete(base):
    r = values(run_tool(HttpDownload, {"url": f"{base}/big.bin", "max_bytes": SIZE}, 30)[0])
    assert r["bytes"] == SIZE and r["ended"] == "complete"


def test_time_cap_stops_a_slow_download(base):
    started = time.monotonic()
    r = values(run_tool(HttpDownload, {"url": f"{base}/slow", "max_seconds": 1}, 10)[0])
    assert time.monotonic() - started < 2
    assert r["ended"] == "time_cap" and r["error"] == ""
    assert 5_000 <= r["bytes"] <= 30_000 and 0.8 <= r["download_s"] <= 1.1


def test_end_of_period_stops_a_slow_download(base):
    started = time.monotonic()
    r = values(run_tool(HttpDownload, {"url": f"{base}/slow"}, 1)[0])
    assert time.monotonic() - started < 2 and r["ended"] == "time_cap"


def test_time_cap_before_the_response_is_an_error(base):
    r = values(run_tool(HttpDownload, {"url": f"{base}/silent", "max_seconds": 0.5}, 10)[0])
    assert r["ended"] == "time_cap" and "before the response" in r["error"]
    assert "http_status" not in r and r["total_s"] < 1.5


def test_not_found_gives_its_status(base):
    r = values(run_tool(HttpDownload, {"url": f"{base}/missing.bin"}, 10)[0])
    assert r["http_status"] == 404 and r["error"].startswith("HTTP 404")
    assert r["ended"] == "error"


def test_truncated_body_is_an_error(base):
    r = values(run_tool(HttpDownload, {"url": f"{base}/short"}, 10)[0])
    assert r["bytes"] == 500 and r["error"] == "connection closed after 500 of 1000 body bytes"


def test_refused_connection_is_reported():
    r = values(run_tool(HttpDownload, {"url": "http://127.0.0.1:9/x"}, 5)[0])
    assert r["error"] == "Connection refused" and r["ended"] == "error"
    assert "connect_ms" not in r and "bytes" not in r


def test_parse_url_and_bad_configs():
    assert parse_url("HTTPS://h.example:8443/a?b=1") == parse_url("https://h.example:8443/a?b=1")
    assert parse_url("http://h.example").path == "/" and parse_url("https://h").port == 443
    assert refusal(HttpDownload, {"url": "ftp://h/x"})
    assert refusal(HttpDownload, {"url": "http://h:99999/x"})
    assert refusal(HttpDownload, {"url": "http://h/x", "max_bytes": 0})
    assert refusal(HttpDownload, {"url": "http://h/x", "ca_file": "/no/such.pem"})


@pytest.mark.skipif(SKIP is not None, reason=SKIP or "")
def test_bound_to_a_device(base):
    env = ActionEnv(node="n", action="a", device="lo")
    r = values(run_tool(HttpDownload, {"url": f"{base}/small.bin"}, 10, env=env)[0])
    assert r["bytes"] == SMALL
    with pytest.raises(ToolError, match="'vptp-none' does not exist"):
        run_tool(HttpDownload, {"url": f"{base}/small.bin"}, 1,
                 env=ActionEnv(node="n", action="a", device="vptp-none"))


@pytest.fixture(scope="module")
def tls_base(files, tmp_path_factory):
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    where = tmp_path_factory.mktemp("tls")
    cert, key = where / "cert.pem", where / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = _serve(files, lambda s: context.wrap_socket(s, server_side=True))
    yield f"https://localhost:{server.server_address[1]}", str(cert)
    server.shutdown()
    server.server_close()


def test_https_verifies_the_certificate(tls_base):
    url, cert = tls_base
    r = values(run_tool(HttpDownload, {"url": f"{url}/small.bin", "ca_file": cert}, 10)[0])
    assert r["bytes"] == SMALL and r["ended"] == "complete"
    r = values(run_tool(HttpDownload, {"url": f"{url}/small.bin"}, 10)[0])
    assert r["error"].startswith("TLS certificate verification failed")


def test_https_time_cap(tls_base):
    url, cert = tls_base
    r = values(run_tool(HttpDownload, {"url": f"{url}/slow", "ca_file": cert,
                                       "max_seconds": 1}, 10)[0])
    assert r["ended"] == "time_cap" and r["error"] == "" and r["bytes"] > 0
