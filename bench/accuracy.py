"""Accuracy of the measurement tools on the virtual testbed, against independent references.

Prints one figure per line:
  ping_vs_iputils_median_us   our ping's median RTT minus iputils ping's, same path, same time
  send_error_pct              udp-owd send schedule: mean |error| as % of the interval
  send_late_pct               probes sent more than half an interval late, %
  owd_error_median_ms         |median one-way delay - the emulator's configured 20 ms|
  owd_rtt_closure_us          |median(owd_up + owd_down) of reflected udp-owd probes - our
                              ping's median RTT|, on the same path at the same time
  owd_reflector_turnaround_us median time a probe spent in the reflector (in udp-owd's own
                              rtt_ms, not in owd_up + owd_down)
  goodput_ratio_<R>mbit       goodput / shaped rate through a tbf at R Mbit/s (mean of the
                              two tools; each also as goodput_ratio_<R>mbit_<tool>)

The schedule is read at the receiver (kernel receive timestamps over a plain
link), not from the sender's own account (send_error_pct_senders_own gives that
one, from its kernel transmit stamps, for comparison); send_lost counts probes
that never arrived. Needs root (it builds a testbed with the prefix ``vpa-``);
run it under `flock /tmp/vp-testbed.lock`, one testbed per host. `--tiny` runs
every part small (the smoke test).

Usage: python bench/accuracy.py [--tiny] [--pings N] [--probes N] [--goodput-seconds S]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from vantagepoint.testbed import Testbed

PREFIX = "vpa-"
OWD_MS = 20.0
RATES = (10, 50)
LINKS = {
    "operators": ["alpha", "beta"],
    "links": {"n1": {"op0": {"rate_mbit": RATES[0]}, "op1": {"delay_ms": OWD_MS}},
              "n3": {"op0": {"rate_mbit": RATES[1]}}},
}
# Who sends through which shaped link to n2 (the server of both goodput tools).
SHAPED_CLIENT = {RATES[0]: "n1", RATES[1]: "n3"}


def main() -> None:
    args = _args()
    with tempfile.TemporaryDirectory(prefix="vp-accuracy-") as tmp, \
            Testbed.up(nodes=3, interfaces=2, links=LINKS, run_dir=Path(tmp) / "bed",
                       start_agents=False, prefix=PREFIX) as bed:
        figures = {"ping_vs_iputils_median_us": ping_vs_iputils(bed, args.pings, 0.02)}
        figures.update(send_schedule(bed, args.probes, 0.01))
        figures["owd_error_median_ms"] = owd_error(bed, args.pings, 0.02)
        figures.update(owd_closure(bed, args.pings, 0.02))
        for rate in RATES:
            figures.update(goodput(bed, rate, args.goodput_seconds, Path(tmp)))
    for name, value in figures.items():
        print(f"{name}={value:.4g}")


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pings", type=int, default=500,
                        help="probes for the ping and one-way delay figures")
    parser.add_argument("--probes", type=int, default=1000, help="probes of the send schedule")
    parser.add_argument("--goodput-seconds", type=float, default=8.0)
    parser.add_argument("--tiny", action="store_true", help="small sizes (smoke test)")
    args = parser.parse_args()
    if args.tiny:
        args.pings, args.probes, args.goodput_seconds = 30, 100, 2.0
    return args


# ---- running tools inside nodes ------------------------------------------------


def start_tool(bed: Testbed, node: str, tool: str, config: dict, device: str,
               seconds: float, requested: tuple[str, ...] = ()) -> subprocess.Popen:
    """Run one tool action in a node's namespace (vantagepoint.testing.oneshot)."""
    argv = [sys.executable, "-m", "vantagepoint.testing.oneshot", tool, json.dumps(config),
            "--device", device, "--seconds", str(seconds)]
    if requested:
        argv += ["--requested", *requested]
    return bed.popen(node, *argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def results(process: subprocess.Popen, timeout: float = 120) -> dict[str, list]:
    """A oneshot run's results as {name: [(value, ts), ...]}."""
    out, err = process.communicate(timeout=timeout)
    if process.returncode != 0:
        raise RuntimeError(f"tool run failed ({process.returncode}): {err.strip()}")
    found: dict[str, list] = {}
    for name, value, ts in json.loads(out)["results"]:
        found.setdefault(name, []).append((value, ts))
    return found


def address(bed: Testbed, node: str, iface: str) -> str:
    return bed.node(node).interface(iface).address


# ---- the figures ----------------------------------------------------------------


def ping_vs_iputils(bed: Testbed, count: int, interval: float) -> float:
    """Median RTT of our ping minus iputils ping's, both n2 -> n3 over op1, together."""
    target = address(bed, "n3", "op1")
    bed.run("n2", "ping", "-n", "-c", "2", "-I", "op1", target, check=True)  # ARP resolved
    seconds = count * interval + 5
    ours = start_tool(bed, "n2", "ping", {"target": target, "count": count,
                                          "interval": interval}, "op1", seconds)
    theirs = bed.run("n2", "ping", "-n", "-c", str(count), "-i", str(interval), "-I", "op1",
                     target, timeout=seconds + 30)
    rtts_ours = [v for v, _ in results(ours)["rtt_ms"]]
    rtts_theirs = [float(t) for t in re.findall(r"time=([0-9.]+) ms", theirs.stdout)]
    return (statistics.median(rtts_ours) - statistics.median(rtts_theirs)) * 1000


def send_schedule(bed: Testbed, count: int, interval: float) -> dict[str, float]:
    """udp-owd n2 -> n3 over a plain link: schedule error from the receiver's timestamps."""
    port, seconds = 18620, count * interval + 3
    receiver = start_tool(bed, "n3", "udp-owd", {"role": "receiver", "session": "sched",
                                                 "port": port}, "op1", seconds + 2)
    time.sleep(1.0)
    sender = start_tool(bed, "n2", "udp-owd", {
        "role": "sender", "session": "sched", "target": address(bed, "n3", "op1"),
        "port": port, "count": count, "interval": interval}, "op1", seconds)
    sent = {v["seq"]: v["t_send_ns"] for v, _ in results(sender)["tx"]}
    arrived = {v["seq"]: v["t_recv_ns"] for v, _ in results(receiver)["rx"]}
    step = interval * 1e9
    errors = lateness(arrived, step)
    return {"send_error_pct": 100 * statistics.fmean(errors) / step,
            "send_late_pct": 100 * sum(e > step / 2 for e in errors) / count,
            "send_lost": float(count - len(arrived)),
            "send_error_pct_senders_own": 100 * statistics.fmean(lateness(sent, step)) / step}


def lateness(times: dict[int, int], step: float) -> list[float]:
    """How late each probe k was against the grid origin + k * step, in ns.

    The origin is the earliest time against the grid, so every value is >= 0 and
    the path's own variation counts as lateness (conservative).
    """
    origin = min(t - k * step for k, t in times.items())
    return [times[k] - origin - k * step for k in sorted(times)]


def owd_error(bed: Testbed, count: int, interval: float) -> float:
    """|median one-way delay n1 -> n2 over the emulated op1 link - its configured delay|."""
    port = 18621
    seconds = count * interval + 3
    receiver = start_tool(bed, "n2", "udp-owd", {"role": "receiver", "session": "owd",
                                                 "port": port}, "op1", seconds + 2)
    time.sleep(1.0)
    sender = start_tool(bed, "n1", "udp-owd", {
        "role": "sender", "session": "owd", "target": address(bed, "n2", "op1"), "port": port,
        "count": count, "interval": interval}, "op1", seconds)
    results(sender)
    owds = [(v["t_recv_ns"] - v["t_send_ns"]) / 1e6 for v, _ in results(receiver)["rx"]]
    return abs(statistics.median(owds) - OWD_MS)


def owd_closure(bed: Testbed, count: int, interval: float) -> dict[str, float]:
    """|owd_up + owd_down - rtt|: reflected udp-owd probes against our ping at the same time.

    Both run n1 <-> n2 over the emulated link. Each reflected probe's own round
    trip also holds the reflector's turnaround, reported on its own.
    """
    port, target = 18622, address(bed, "n2", "op1")
    seconds = count * interval + 3
    reflector = start_tool(bed, "n2", "udp-owd", {"role": "receiver", "session": "refl",
                                                  "port": port, "reflect": True},
                           "op1", seconds + 3)
    time.sleep(1.0)
    sender = start_tool(bed, "n1", "udp-owd", {
        "role": "sender", "session": "refl", "target": target, "port": port, "count": count,
        "interval": interval, "reflect": True}, "op1", seconds)
    pinger = start_tool(bed, "n1", "ping", {"target": target, "count": count,
                                            "interval": interval}, "op1", seconds)
    got, pings = results(sender), results(pinger)
    results(reflector)
    probes: dict[float, dict[str, float]] = {}
    for name in ("rtt_ms", "owd_up_ms", "owd_down_ms"):
        for value, ts in got[name]:
            probes.setdefault(ts, {})[name] = value
    sums = [p["owd_up_ms"] + p["owd_down_ms"] for p in probes.values()]
    turnaround = [p["rtt_ms"] - p["owd_up_ms"] - p["owd_down_ms"] for p in probes.values()]
    rtt = statistics.median(v for v, _ in pings["rtt_ms"])
    return {"owd_rtt_closure_us": abs(statistics.median(sums) - rtt) * 1000,
            "owd_reflector_turnaround_us": statistics.median(turnaround) * 1000}


def goodput(bed: Testbed, rate: int, seconds: float, tmp: Path) -> dict[str, float]:
    """throughput (iperf3) and http-download through the tbf at ``rate`` Mbit/s."""
    client = SHAPED_CLIENT[rate]
    server = address(bed, "n2", "op0")
    iperf_server = start_tool(bed, "n2", "throughput", {"role": "server", "port": 5201},
                              "op0", seconds + 8)
    time.sleep(1.0)
    iperf_client = start_tool(bed, client, "throughput", {
        "role": "client", "server": server, "port": 5201, "duration": int(round(seconds)),
        "connect_retry_s": 5}, "op0", seconds + 6)
    iperf = results(iperf_client)["goodput_mbps"][0][0]
    results(iperf_server)
    http = http_goodput(bed, client, server, int(rate * 1e6 / 8 * seconds), tmp)
    ratios = {"throughput": iperf / rate, "http": http / rate}
    figures = {f"goodput_ratio_{rate}mbit_{tool}": r for tool, r in ratios.items()}
    figures[f"goodput_ratio_{rate}mbit"] = statistics.fmean(ratios.values())
    return figures


def http_goodput(bed: Testbed, client: str, server: str, size: int, tmp: Path) -> float:
    """http-download of a ``size``-byte file that n2 serves, by ``client`` over op0."""
    root = tmp / "www"
    root.mkdir(exist_ok=True)
    with open(root / "file.bin", "wb") as f:
        f.truncate(size)
    httpd = bed.popen("n2", sys.executable, "-u", "-m", "http.server", "--bind", server,
                      "--directory", str(root), "8000", stdout=subprocess.PIPE,
                      stderr=subprocess.DEVNULL, text=True)
    try:
        httpd.stdout.readline()  # "Serving HTTP on ..."
        run = start_tool(bed, client, "http-download", {
            "url": f"http://{server}:8000/file.bin", "max_bytes": size + 1,
            "max_seconds": 120}, "op0", 130)
        got = results(run, timeout=180)
    finally:
        httpd.kill()
        httpd.wait()
    if got["bytes"][0][0] != size:
        raise RuntimeError(f"http-download got {got['bytes'][0][0]} of {size} bytes")
    return got["goodput_mbps"][0][0]


if __name__ == "__main__":
    main()
