"""Study creation and result processors: how long they take on a real database.

Prints one figure per line:
  combinations           scenarios the study generates
  study_create_ms        POST /api/v1/studies: generate, validate, store and book them all
  study_rerun_ms         POST /api/v1/studies/NAME/runs: book every combination again
  anonymise_ipv4_per_s   fresh IPv4 addresses mapped per second (prefix-preserving)
  anonymise_ipv6_per_s   fresh IPv6 addresses mapped per second
  convert_per_s          results converted per second (ms -> s)

Usage: python bench/studies.py [--axes 3,3,2,4] [--addresses N] [--database-url URL]
"""

from __future__ import annotations

import argparse
import ipaddress
import math
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests package

TOKEN = "vpu_bench-admin-token-0123456789abcdef"
KEY = "bench-key-0123456789abcdef"


def main() -> None:
    args = _args()
    axes = [int(n) for n in args.axes.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/core.db"
        create_ms, rerun_ms = _study(url, Path(tmp), axes)
    print(f"combinations={math.prod(axes)}")
    print(f"study_create_ms={create_ms:.1f}")
    print(f"study_rerun_ms={rerun_ms:.1f}")
    print(f"anonymise_ipv4_per_s={_anonymise(4, args.addresses):.0f}")
    print(f"anonymise_ipv6_per_s={_anonymise(6, args.addresses):.0f}")
    print(f"convert_per_s={_convert(args.addresses * 10):.0f}")


def _args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--axes", default="3,3,2,4", help="Values per axis, comma-separated.")
    parser.add_argument("--addresses", type=int, default=20_000)
    parser.add_argument("--database-url", default=None)
    return parser.parse_args()


def _study(url: str, tmp: Path, axes: list[int]) -> tuple[float, float]:
    from fastapi.testclient import TestClient

    from tests.core.conftest import enrol
    from vantagepoint.config import CoreSettings
    from vantagepoint.core import create_app

    settings = CoreSettings(database_url=url, admin_token=TOKEN, files_dir=tmp / "files",
                            min_duration_seconds=1, padding_seconds=0, tick_seconds=60)
    with TestClient(create_app(settings)) as client:
        client.headers["Authorization"] = f"Bearer {TOKEN}"
        enrol(client, "n1")
        doc = _document(axes)
        began = time.perf_counter()
        r = client.post("/api/v1/studies", json=doc)
        create_ms = (time.perf_counter() - began) * 1000
        assert r.status_code == 201, r.text
        began = time.perf_counter()
        r = client.post("/api/v1/studies/bench/runs", json={})
        rerun_ms = (time.perf_counter() - began) * 1000
        assert r.status_code == 201, r.text
    return create_ms, rerun_ms


def _document(axes: list[int]) -> dict:
    parameters = {f"p{i}": list(range(n)) for i, n in enumerate(axes)}
    tags = [f"p{i}-${{p{i}}}" for i in range(len(axes))]
    action = {"name": "a", "node": "n1", "tool": "probe", "results": ["rtt_ms"],
              "config": {"target": "192.0.2.1", "count": 1}, "tags": tags}
    return {"name": "bench", "parameters": parameters,
            "template": {"tasks": [{"name": "t", "actions": [action]}]},
            "schedule": {"duration": 60}}


def _anonymise(family: int, count: int) -> float:
    from vantagepoint.core.processors.cryptopan import PrefixPreserving

    rng = random.Random(family)
    cls = ipaddress.IPv4Address if family == 4 else ipaddress.IPv6Address
    bits = 32 if family == 4 else 128
    addresses = [str(cls(rng.getrandbits(bits))) for _ in range(count)]
    mapper = PrefixPreserving(KEY.encode())
    began = time.perf_counter()
    for address in addresses:
        mapper.address(address)
    return count / (time.perf_counter() - began)


def _convert(count: int) -> float:
    from vantagepoint.core.processors.convert import Convert

    convert = Convert()
    config = {"conversions": [{"result": "rtt_ms", "from": "ms", "to": "s"}]}
    began = time.perf_counter()
    for i in range(count):
        convert.transform("rtt_ms", float(i), config)
    return count / (time.perf_counter() - began)


if __name__ == "__main__":
    main()
