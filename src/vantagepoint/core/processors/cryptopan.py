"""Prefix-preserving address anonymisation in the manner of Crypto-PAn (Xu et al., 2002).

Bit ``i`` of the output is bit ``i`` of the input XOR a keyed pseudo-random bit
of the input's first ``i`` bits, so two addresses sharing a k-bit prefix map to
two addresses sharing exactly a k-bit prefix, and one key always gives the same
mapping. The pseudo-random function is keyed BLAKE2b (Crypto-PAn uses AES), keyed
once and copied per bit; the construction and its guarantees are the same.
"""

from __future__ import annotations

import hashlib
import ipaddress

_CACHE_LIMIT = 100_000


class PrefixPreserving:
    """A keyed, consistent, prefix-preserving mapping of IPv4 and IPv6 addresses."""

    def __init__(self, key: bytes):
        if len(key) < 16:
            raise ValueError("the anonymisation key needs at least 16 bytes")
        # BLAKE2b takes keys up to 64 bytes; a longer secret is hashed down first.
        self._keyed = hashlib.blake2b(key=key if len(key) <= 64 else hashlib.sha512(key)
                                      .digest(), digest_size=16)
        self._cache: dict[str, str] = {}

    def address(self, text: str) -> str:
        """The anonymised form of an address literal (raises ValueError if it is none)."""
        hit = self._cache.get(text)
        if hit is None:
            hit = self._map(ipaddress.ip_address(text))
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[text] = hit
        return hit

    def _map(self, addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
        bits = addr.max_prefixlen
        value, out = int(addr), 0
        for i in range(bits):
            prefix = value >> (bits - i)  # the first i bits
            out = (out << 1) | (((value >> (bits - 1 - i)) & 1) ^ self._bit(addr.version, i,
                                                                               prefix, bits))
        return str(type(addr)(out))

    def _bit(self, version: int, length: int, prefix: int, bits: int) -> int:
        message = bytes([version, length]) + prefix.to_bytes(bits // 8, "big")
        prf = self._keyed.copy()
        prf.update(message)
        return prf.digest()[0] & 1
