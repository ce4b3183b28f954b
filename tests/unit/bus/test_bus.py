"""The bus over real ZeroMQ sockets: frames, stamps, prefixes, large messages, a plain script."""

from __future__ import annotations

import json
import subprocess
import sys
import threading

import pytest

from vantagepoint.bus.message import BadMessage, decode, encode, modem_topic
from vantagepoint.bus.publisher import Publisher
from vantagepoint.bus.subscriber import Subscriber


@pytest.fixture
def endpoint(tmp_path):
    return f"ipc://{tmp_path}/bus/metadata.ipc"


def test_frames_carry_the_common_fields_and_subscribers_filter_by_prefix(endpoint):
    pub = Publisher(endpoint, "n1")
    gps_only = Subscriber(endpoint, ["MONROE.META.DEVICE.GPS"])
    everything = Subscriber(endpoint)
    assert pub.wait_subscriber("MONROE.META.DEVICE.GPS") and pub.wait_subscriber("MONROE.META")
    pub.publish(modem_topic("8946", "UPDATE"), {"Operator": "Telia"})
    sent = pub.publish("MONROE.META.DEVICE.GPS", {"Latitude": 59.4, "NMEA": "x" * 100_000})
    topic, body = gps_only.recv(timeout=5)
    assert topic == "MONROE.META.DEVICE.GPS" and body == sent
    assert len(body["NMEA"]) == 100_000  # no size limit
    assert body["SequenceNumber"] == 2 and body["NodeId"] == "n1" and body["DataVersion"] == 1
    assert gps_only.recv(timeout=0.2) is None  # the modem message was not for it
    topic, body = everything.recv(timeout=5)
    assert topic == "MONROE.META.DEVICE.MODEM.8946.UPDATE"
    assert body["DataId"] == "MONROE.META.DEVICE.MODEM" and body["Operator"] == "Telia"
    for s in (gps_only, everything):
        s.close()
    pub.close()


def test_many_threads_publish_without_loss_or_duplicate_numbers(endpoint):
    pub = Publisher(endpoint, "n1")
    sub = Subscriber(endpoint)
    assert pub.wait_subscriber("MONROE.META")

    def burst():
        for _ in range(2000):
            pub.publish("MONROE.META.NODE.SENSOR.cpu", {"idle": 1.0})
    threads = [threading.Thread(target=burst) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seqs = [sub.recv(timeout=5)[1]["SequenceNumber"] for _ in range(8000)]
    assert sorted(seqs) == list(range(1, 8001))
    sub.close()
    pub.close()


def test_decode_names_what_is_wrong():
    frame = encode("MONROE.META.NODE.EVENT", {"SequenceNumber": 1, "Timestamp": 1.0,
                                              "DataId": "x", "DataVersion": 1, "NodeId": "n"})
    assert decode(frame)[0] == "MONROE.META.NODE.EVENT"
    assert b"\n" not in frame
    for bad, why in ((b"MONROE.META.X", "no space"), (b"MONROE.META.X {", "not JSON"),
                     (b"MONROE.META.X []", "not a JSON object"),
                     (b'MONROE.META.X {"SequenceNumber": 1}', "missing field"),
                     (b'bad..topic {}', "topic")):
        with pytest.raises(BadMessage, match=why):
            decode(bad)


def test_a_plain_script_prints_the_messages(endpoint):
    pub = Publisher(endpoint, "n1")
    script = subprocess.Popen([sys.executable, "-m", "vantagepoint.bus.subscriber", endpoint,
                               "MONROE.META.NODE"], stdout=subprocess.PIPE, text=True)
    try:
        assert pub.wait_subscriber("MONROE.META.NODE", timeout=30)
        pub.publish("MONROE.META.DEVICE.GPS", {"Latitude": 1.0})
        pub.publish("MONROE.META.NODE.EVENT", {"EventType": "Test", "Message": "hi"})
        line = script.stdout.readline()
    finally:
        script.terminate()
        script.wait(10)
        pub.close()
    topic, _, payload = line.partition(" ")
    assert topic == "MONROE.META.NODE.EVENT" and json.loads(payload)["Message"] == "hi"
