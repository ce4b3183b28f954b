"""Metadata bus throughput: one publisher, two subscriber processes, against bare pyzmq.

Prints one figure per line:
  bus_msgs_per_s    messages/s through our Publisher and Subscriber helper
  bare_msgs_per_s   messages/s of a bare pyzmq PUB/SUB loop sending the same JSON
  bus_ratio         the ratio of the two (target >= 0.7)
  lost              messages a subscriber missed (must be 0: no silent drops)

Both sides use an ipc endpoint, no high-water mark, and subscribers that decode
the JSON; a rate is N messages over the time the slower subscriber took from
the first to the last. Each variant runs ``--rounds`` times; the best counts.

Usage: python bench/bus.py [--messages N] [--rounds R]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import tempfile
import time
from pathlib import Path

import zmq

from vantagepoint.bus.publisher import Publisher
from vantagepoint.bus.subscriber import Subscriber

TOPIC = "MONROE.META.DEVICE.MODEM.8946071234567890123.UPDATE"
FIELDS = {"ICCID": "8946071234567890123", "Operator": "Telia", "IMSIMCCMNC": 24001,
          "InternalInterface": "op0", "IPAddress": "10.0.0.2", "DeviceMode": 5, "RSRP": -95}


def _subscribe(kind: str, endpoint: str, count: int, ready, results) -> None:
    """Receive ``count`` messages; report (first, last) receive times."""
    if kind == "bus":
        sub = Subscriber(endpoint, ["MONROE.META"])
        recv = sub.recv
    else:
        sock = zmq.Context.instance().socket(zmq.SUB)
        sock.setsockopt(zmq.RCVHWM, 0)
        sock.setsockopt(zmq.SUBSCRIBE, b"MONROE.META")
        sock.connect(endpoint)

        def recv(timeout=None):
            if timeout is not None and not sock.poll(int(timeout * 1000)):
                return None
            topic, _, payload = sock.recv().partition(b" ")
            return topic.decode(), json.loads(payload)
    ready.set()
    first = last = None
    got = 0
    while got < count:
        message = recv(timeout=10.0)
        if message is None:
            break
        last = time.perf_counter()
        first = first or last
        got += 1
    results.put((got, first, last))


def _publish_bus(pub: Publisher, count: int) -> None:
    for _ in range(2):
        pub.wait_subscriber("MONROE.META", timeout=10)
    for _ in range(count):
        pub.publish(TOPIC, FIELDS)
    pub.close()


def _bare_socket(endpoint: str) -> zmq.Socket:
    sock = zmq.Context.instance().socket(zmq.PUB)
    sock.setsockopt(zmq.SNDHWM, 0)
    sock.setsockopt(zmq.LINGER, 5000)
    sock.bind(endpoint)
    return sock


def _publish_bare(sock: zmq.Socket, count: int) -> None:
    time.sleep(0.5)  # PUB cannot tell when its subscribers joined
    for seq in range(1, count + 1):
        body = {"SequenceNumber": seq, "Timestamp": time.time(), "DataId": TOPIC,
                "DataVersion": 1, "NodeId": "bench", **FIELDS}
        sock.send(f"{TOPIC} {json.dumps(body, separators=(',', ':'))}".encode())
    sock.close()


def run(kind: str, endpoint: str, count: int) -> tuple[float, int]:
    """(messages/s, messages lost) of one round."""
    ctx = mp.get_context("spawn")
    results, events = ctx.Queue(), [ctx.Event() for _ in range(2)]
    subs = [ctx.Process(target=_subscribe, args=(kind, endpoint, count, e, results))
            for e in events]
    pub = Publisher(endpoint, "bench") if kind == "bus" else _bare_socket(endpoint)
    for p in subs:
        p.start()
    for e in events:
        e.wait(60)
    if kind == "bus":
        _publish_bus(pub, count)
    else:
        _publish_bare(pub, count)
    outcomes = [results.get(timeout=120) for _ in subs]
    for p in subs:
        p.join()
    elapsed = max(last - first for _, first, last in outcomes if first is not None)
    return count / max(elapsed, 1e-9), sum(count - got for got, _, _ in outcomes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    best = {"bus": 0.0, "bare": 0.0}
    lost = 0
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.rounds):
            for kind in ("bare", "bus"):
                endpoint = f"ipc://{Path(tmp)}/{kind}{i}.ipc"
                rate, missed = run(kind, endpoint, args.messages)
                best[kind], lost = max(best[kind], rate), lost + missed
    print(f"bus_msgs_per_s={best['bus']:.0f}")
    print(f"bare_msgs_per_s={best['bare']:.0f}")
    print(f"bus_ratio={best['bus'] / best['bare']:.3f}")
    print(f"lost={lost}")


if __name__ == "__main__":
    main()
