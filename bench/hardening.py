"""What hardening costs: the rate limiter, the log filter, and a request through both.

Prints ``limiter_takes_per_s``, ``redact_lines_per_s``, ``api_req_per_s`` (GET
/users/me, one client, limits on) and ``api_req_per_s_unlimited`` (limits off),
and ``limit_overhead_pct`` between the two, one per line.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import httpx

from vantagepoint.core.ratelimit import Limit, Limiter
from vantagepoint.redact import Redactor, scrub

sys.path.insert(0, str(Path(__file__).parent))
from _core import start_core  # noqa: E402

TOKEN = "vpu_bench-admin-token-0123456789abcdef"
LINE = '127.0.0.1:5000 - "GET /api/v1/stream?kind=result&token=vpu_abcdefghijklmnop HTTP/1.1"'


def limiter_rate(n: int, keys: int = 1000) -> float:
    limiter, limit = Limiter(), Limit("node", 1e9, 10**9)
    started = time.perf_counter()
    for i in range(n):
        limiter.take(i % keys, limit)
    return n / (time.perf_counter() - started)


def redact_rate(n: int) -> float:
    redactor = Redactor(["some-admin-secret", "db-password"])
    started = time.perf_counter()
    for _ in range(n):
        scrub(LINE, redactor.secrets)
    return n / (time.perf_counter() - started)


def api_rate(n: int, tmp: Path, **env: str) -> float:
    proc, base = start_core(f"sqlite:///{tmp}/core.db", tmp, TOKEN, **env)
    try:
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {TOKEN}"}) as c:
            for _ in range(20):  # warm up
                c.get("/api/v1/users/me")
            started = time.perf_counter()
            for _ in range(n):
                assert c.get("/api/v1/users/me").status_code == 200
            return n / (time.perf_counter() - started)
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ops", type=int, default=200_000, help="limiter and filter calls")
    parser.add_argument("--requests", type=int, default=2000, help="HTTP requests per run")
    args = parser.parse_args()
    print(f"limiter_takes_per_s={limiter_rate(args.ops):.0f}")
    print(f"redact_lines_per_s={redact_rate(args.ops // 4):.0f}")
    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        limited = api_rate(args.requests, Path(a), VANTAGE_RATE_LIMIT_USER_PER_S="1e6",
                           VANTAGE_RATE_LIMIT_USER_BURST="1000000")
        unlimited = api_rate(args.requests, Path(b), VANTAGE_RATE_LIMIT_USER_PER_S="0")
    print(f"api_req_per_s={limited:.0f}")
    print(f"api_req_per_s_unlimited={unlimited:.0f}")
    print(f"limit_overhead_pct={100 * (unlimited - limited) / unlimited:.1f}")


if __name__ == "__main__":
    main()
