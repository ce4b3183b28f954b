"""The prefix-preserving mapping: consistent per key, prefixes kept exactly, both families."""

from __future__ import annotations

import ipaddress
import random

import pytest

from vantagepoint.core.processors.anonymise import Anonymise
from vantagepoint.core.processors.cryptopan import PrefixPreserving

KEY = b"0123456789abcdef-test-key"


def _common_prefix(a: str, b: str) -> int:
    x, y = ipaddress.ip_address(a), ipaddress.ip_address(b)
    diff = int(x) ^ int(y)
    return x.max_prefixlen - diff.bit_length()


@pytest.mark.parametrize("family", [4, 6])
def test_shared_prefix_lengths_are_kept_exactly(family):
    rng = random.Random(family)
    bits = 32 if family == 4 else 128
    cls = ipaddress.IPv4Address if family == 4 else ipaddress.IPv6Address
    mapper = PrefixPreserving(KEY)
    for _ in range(300):
        a = rng.getrandbits(bits)
        keep = rng.randrange(bits + 1)  # b shares the first `keep` bits with a
        flip = 0 if keep == bits else 1 << (bits - 1 - keep)
        b = (a ^ flip) & ~((1 << (bits - 1 - keep)) - 1) if keep < bits else a
        b |= rng.getrandbits(max(0, bits - 1 - keep)) if keep < bits else 0
        a_text, b_text = str(cls(a)), str(cls(b))
        assert _common_prefix(mapper.address(a_text), mapper.address(b_text)) == \
            _common_prefix(a_text, b_text)


def test_consistent_per_key_and_different_across_keys():
    one, again, other = PrefixPreserving(KEY), PrefixPreserving(KEY), PrefixPreserving(b"x" * 16)
    addresses = [f"10.{i}.{i * 7 % 256}.{i * 13 % 256}" for i in range(50)]
    mapped = [one.address(a) for a in addresses]
    assert mapped == [again.address(a) for a in addresses]
    assert len(set(mapped)) == len(addresses)  # a bijection never merges two addresses
    assert sum(m != other.address(a) for a, m in zip(addresses, mapped, strict=True)) > 40
    assert sum(m != a for a, m in zip(addresses, mapped, strict=True)) > 40


def test_short_keys_are_refused():
    with pytest.raises(ValueError, match="16 bytes"):
        PrefixPreserving(b"short")


def test_every_address_in_a_result_value_is_mapped_and_nothing_else():
    record = {"type": "traceroute", "from": "198.51.100.7", "dst_addr": "2001:db8::1",
              "dst_name": "example.net", "msm_id": 5, "proto": "ICMP",
              "result": [{"hop": 1, "result": [{"from": "192.0.2.1", "rtt": 0.5}, {"x": "*"}]}]}
    name, out = Anonymise().transform("atlas", record, {"key": KEY.decode()})
    mapper = PrefixPreserving(KEY)
    assert name == "atlas"
    assert out["from"] == mapper.address("198.51.100.7") != "198.51.100.7"
    assert out["dst_addr"] == mapper.address("2001:db8::1")
    assert out["result"][0]["result"][0]["from"] == mapper.address("192.0.2.1")
    assert out["result"][0]["result"][0]["rtt"] == 0.5 and out["result"][0]["result"][1] == \
        {"x": "*"}
    assert (out["dst_name"], out["msm_id"], out["proto"]) == ("example.net", 5, "ICMP")


def test_fields_limit_what_is_mapped():
    value = {"from": "192.0.2.1", "src_addr": "192.0.2.2"}
    _, out = Anonymise().transform("x", value, {"key": KEY.decode(), "fields": ["from"]})
    assert out["src_addr"] == "192.0.2.2" and out["from"] != "192.0.2.1"
