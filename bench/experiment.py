"""Costs of sandboxed experiments on a node: preparing a layer, starting a sandbox.

Prints one figure per line:
  layer_prepare_mb_per_s  a packed directory verified and unpacked into the layer cache
  sandbox_start_ms        median time to run /bin/true in a bubblewrap sandbox
  bare_start_ms           median time to run /bin/true directly (same run, for scale)
  sandbox_overhead_ms     the difference of the two
The sandbox figures are left out where bubblewrap is missing.

Usage: python bench/experiment.py [--mb N] [--runs K]
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from vantagepoint.client.layers import pack_directory
from vantagepoint.sandbox import bwrap
from vantagepoint.sandbox.layers import LayerCache


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=float, default=64.0, help="Size of the layer, MB.")
    parser.add_argument("--runs", type=int, default=20, help="Sandboxes started.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print(f"layer_prepare_mb_per_s={_layer_rate(Path(tmp), args.mb):.1f}")
        if bwrap.available() is None:
            sandbox = _median_ms(_sandboxed(Path(tmp)), args.runs)
            bare = _median_ms(["/bin/true"], args.runs)
            print(f"sandbox_start_ms={sandbox:.2f}")
            print(f"bare_start_ms={bare:.2f}")
            print(f"sandbox_overhead_ms={sandbox - bare:.2f}")


def _layer_rate(tmp: Path, mb: float) -> float:
    source = tmp / "program"
    source.mkdir()
    chunk = 1024 * 1024
    for i in range(max(1, int(mb))):
        (source / f"f{i}.bin").write_bytes(bytes([i % 251]) * chunk)
    archive = tmp / "layer.tar"
    pack_directory(source, archive)
    digest = "sha256:" + hashlib.sha256(archive.read_bytes()).hexdigest()
    cache = LayerCache(tmp / "cache")
    began = time.perf_counter()
    cache.prepare(digest, lambda _d, target: shutil.copyfile(archive, target))
    return archive.stat().st_size / 1e6 / (time.perf_counter() - began)


def _sandboxed(tmp: Path) -> list[str]:
    (tmp / "results").mkdir()
    (tmp / "config").write_text("{}")
    return bwrap.command(bwrap.Plan(argv=["/bin/true"], results=tmp / "results",
                                    config=tmp / "config"))


def _median_ms(argv: list[str], runs: int) -> float:
    times = []
    for _ in range(max(1, runs)):
        began = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True)
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


if __name__ == "__main__":
    main()
