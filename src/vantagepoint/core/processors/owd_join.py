"""owd-join: the sender and receiver halves of udp-owd become per-probe one-way delay,
loss and delay variation (RFC 2679, 2680, 3393), with summary statistics."""

from __future__ import annotations

import statistics
from typing import Any

from vantagepoint.core.processors import Derived, Fetch


def _pairs(snapshot: dict[str, Any]) -> list[tuple[dict, dict]]:
    """(sender, receiver) actions of udp-owd sharing a session, reflectors excluded."""
    actions = [a for t in snapshot.get("tasks", []) for a in t["actions"]
               if a["tool"] == "udp-owd" and not a["config"].get("reflect")]
    senders = {a["config"]["session"]: a for a in actions if a["config"]["role"] == "sender"}
    return [(senders[a["config"]["session"]], a) for a in actions
            if a["config"]["role"] == "receiver" and a["config"]["session"] in senders]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class OwdJoin:
    """Joins udp-owd halves; results go to the receiver's node and action."""

    name = "owd-join"
    config_schema = {"type": "object", "additionalProperties": False}

    def process(self, snapshot: dict[str, Any], fetch: Fetch,
                skews: dict[str, float | None]) -> list[Derived]:
        derived = []
        for sender, receiver in _pairs(snapshot):
            sent = {r["value"]["seq"]: r["value"] for r in fetch(sender["name"], "tx")
                    if r["node"] == sender["node"]}
            got = {r["value"]["seq"]: r["value"] for r in fetch(receiver["name"], "rx")
                   if r["node"] == receiver["node"]}
            error = _clock_error(skews.get(sender["node"]), skews.get(receiver["node"]))
            derived += _join(sent, got, receiver, error)
        return derived


def _clock_error(a: float | None, b: float | None) -> float | None:
    """A bound of the two clocks' disagreement from their skews against the core."""
    if a is None or b is None:
        return None
    return abs(a - b)


def _join(sent: dict, got: dict, receiver: dict, error: float | None) -> list[Derived]:
    node, action = receiver["node"], receiver["name"]
    out, owds, ipdvs, previous = [], [], [], None

    def add(name: str, value: Any, ts: float) -> None:
        out.append(Derived(node, action, name, ts, value))

    for seq in sorted(sent):
        ts = sent[seq]["t_send_ns"] / 1e9
        rx = got.get(seq)
        add("loss", 0 if rx else 1, ts)
        if rx is None:
            previous = None
            continue
        # The sender's record holds the kernel's transmit time where it had one.
        owd = (rx["t_recv_ns"] - sent[seq]["t_send_ns"]) / 1e6
        owds.append(owd)
        ipdv = None if previous is None else owd - previous
        previous = owd
        add("owd_ms", owd, ts)
        if ipdv is not None:
            ipdvs.append(ipdv)
            add("ipdv_ms", ipdv, ts)
        add("owd_record", {"seq": seq, "owd_ms": owd, "ipdv_ms": ipdv,
                           "clock_error_ms": error}, ts)
    end = max((s["t_send_ns"] for s in sent.values()), default=0) / 1e9
    if sent:
        add("loss_pct", 100.0 * (len(sent) - len(owds)) / len(sent), end)
    if owds:
        add("owd_min_ms", min(owds), end)
        add("owd_median_ms", statistics.median(owds), end)
        add("owd_p95_ms", percentile(owds, 0.95), end)
    if ipdvs:
        add("ipdv_mean_ms", statistics.fmean(abs(v) for v in ipdvs), end)
    if error is not None:
        add("clock_error_ms", error, end)
    return out
