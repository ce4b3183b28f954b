"""The DNS wire format (RFC 1035, 3596) as far as the ``dns`` tool needs it.

``query`` encodes a one-question query; ``parse`` decodes a response, its
answer records in presentation format (as ``dig +short`` prints them): A,
AAAA, CNAME, NS, PTR, MX, TXT and SOA, any other type as RFC 3597's
``\\# length hex``. Names are decoded with compression and a loop guard;
anything malformed raises ``WireError``.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass, field

TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "MX": 15, "TXT": 16, "AAAA": 28}
TYPE_NAMES = {v: k for k, v in TYPES.items()}
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP",
          5: "REFUSED", 6: "YXDOMAIN", 7: "YXRRSET", 8: "NXRRSET", 9: "NOTAUTH",
          10: "NOTZONE"}
CLASS_IN = 1
HEADER = struct.Struct("!HHHHHH")
QR, TC, RD = 0x8000, 0x0200, 0x0100
MAX_POINTERS = 64


class WireError(ValueError):
    """A DNS message that cannot be encoded or decoded."""


def encode_name(name: str) -> bytes:
    """A domain name as length-prefixed labels (IDNA for non-ASCII labels)."""
    labels = name.rstrip(".").split(".") if name.strip(".") else []
    out = b""
    for label in labels:
        raw = label.encode("ascii") if label.isascii() else label.encode("idna")
        if not 0 < len(raw) < 64:
            raise WireError(f"label {label!r} of {name!r} must be 1 to 63 bytes")
        out += bytes([len(raw)]) + raw
    if len(out) + 1 > 255:
        raise WireError(f"name {name!r} is longer than 255 bytes")
    return out + b"\0"


def query(qid: int, name: str, qtype: str, recurse: bool = True) -> bytes:
    """A query for ``name``/``qtype`` in class IN."""
    head = HEADER.pack(qid, RD if recurse else 0, 1, 0, 0, 0)
    return head + encode_name(name) + struct.pack("!HH", TYPES[qtype], CLASS_IN)


@dataclass(frozen=True)
class Record:
    """One resource record, its data in presentation format."""

    name: str
    rtype: int
    ttl: int
    data: str


@dataclass
class Message:
    """A decoded response."""

    qid: int
    flags: int
    question: tuple[str, int] | None
    answers: list[Record] = field(default_factory=list)
    answer_count: int = 0

    @property
    def rcode(self) -> str:
        code = self.flags & 0x000F
        return RCODES.get(code, str(code))

    @property
    def truncated(self) -> bool:
        return bool(self.flags & TC)

    @property
    def is_response(self) -> bool:
        return bool(self.flags & QR)


def parse(data: bytes) -> Message:
    """Decode a response: header, question and answer section."""
    if len(data) < HEADER.size:
        raise WireError(f"a {len(data)}-byte message is shorter than a DNS header")
    qid, flags, qdcount, ancount, _, _ = HEADER.unpack_from(data)
    offset, question = HEADER.size, None
    for _ in range(qdcount):
        qname, offset = read_name(data, offset)
        qtype, _ = _unpack("!HH", data, offset)
        question, offset = question or (qname, qtype), offset + 4
    message = Message(qid, flags, question, answer_count=ancount)
    if message.truncated:
        return message  # the rest may be cut off anywhere
    for _ in range(ancount):
        record, offset = read_record(data, offset)
        message.answers.append(record)
    return message


def read_record(data: bytes, offset: int) -> tuple[Record, int]:
    """The resource record at ``offset`` and the offset after it."""
    name, offset = read_name(data, offset)
    rtype, _, ttl, length = _unpack("!HHIH", data, offset)
    start = offset + 10
    if start + length > len(data):
        raise WireError("a record's data runs past the end of the message")
    return Record(name, rtype, ttl, rdata_text(data, rtype, start, length)), start + length


def read_name(data: bytes, offset: int) -> tuple[str, int]:
    """The (possibly compressed) name at ``offset`` and the offset after it."""
    labels: list[str] = []
    end, pointers = None, 0
    while True:
        if offset >= len(data):
            raise WireError("a name runs past the end of the message")
        length = data[offset]
        if length & 0xC0 == 0xC0:
            pointers += 1
            if pointers > MAX_POINTERS or offset + 1 >= len(data):
                raise WireError("a compressed name loops or is cut off")
            end = offset + 2 if end is None else end
            offset = ((length & 0x3F) << 8) | data[offset + 1]
        elif length & 0xC0:
            raise WireError(f"unknown label type 0x{length:02x}")
        elif length == 0:
            return ".".join(labels) + ".", offset + 1 if end is None else end
        else:
            labels.append(_escape(data[offset + 1:offset + 1 + length], b".", 0x21))
            offset += 1 + length


def rdata_text(data: bytes, rtype: int, start: int, length: int) -> str:
    """A record's data in presentation format."""
    rdata = data[start:start + length]
    if rtype == TYPES["A"] and length == 4:
        return socket.inet_ntop(socket.AF_INET, rdata)
    if rtype == TYPES["AAAA"] and length == 16:
        return socket.inet_ntop(socket.AF_INET6, rdata)
    if rtype in (TYPES["CNAME"], TYPES["NS"], TYPES["PTR"]):
        return read_name(data, start)[0]
    if rtype == TYPES["MX"] and length >= 3:
        return f"{_unpack('!H', data, start)[0]} {read_name(data, start + 2)[0]}"
    if rtype == TYPES["TXT"]:
        return _txt(rdata)
    if rtype == TYPES["SOA"]:
        return _soa(data, start)
    return f"\\# {length} {rdata.hex()}".rstrip()


def _soa(data: bytes, offset: int) -> str:
    mname, offset = read_name(data, offset)
    rname, offset = read_name(data, offset)
    numbers = _unpack("!IIIII", data, offset)
    return " ".join([mname, rname, *map(str, numbers)])


def _txt(rdata: bytes) -> str:
    strings, offset = [], 0
    while offset < len(rdata):
        length = rdata[offset]
        if offset + 1 + length > len(rdata):
            raise WireError("a TXT string runs past its record")
        strings.append('"' + _escape(rdata[offset + 1:offset + 1 + length], b'"', 0x20) + '"')
        offset += 1 + length
    return " ".join(strings)


def _escape(raw: bytes, special: bytes, printable: int) -> str:
    """Bytes as presentation text: ``\\`` before specials, ``\\DDD`` below ``printable``."""
    out = []
    for byte in raw:
        if byte in special or byte == 0x5C:
            out.append("\\" + chr(byte))
        elif printable <= byte < 0x7F:
            out.append(chr(byte))
        else:
            out.append(f"\\{byte:03d}")
    return "".join(out)


def _unpack(fmt: str, data: bytes, offset: int) -> tuple:
    try:
        return struct.unpack_from(fmt, data, offset)
    except struct.error as exc:
        raise WireError("a message is cut off") from exc
