"""Unit conversion: values scaled, names renamed for the new unit, units checked."""

from __future__ import annotations

import pytest

from vantagepoint.core.processors.convert import Convert


@pytest.mark.parametrize(("result", "source", "target", "value", "name", "expected"), [
    ("rtt_ms", "ms", "s", 12.5, "rtt_s", 0.0125),
    ("bytes", "bytes", "bits", 1500, "bytes", 12000.0),
    ("size_bytes", "bytes", "bits", 3, "size_bits", 24.0),
    ("speed_Mbps", "Mbps", "kbps", 2.5, "speed_kbps", 2500.0),
    ("dl_MB", "MB", "MiB", 1.048576, "dl_MiB", 1.0),
    ("duration_s", "s", "ms", 2, "duration_ms", 2000.0),
])
def test_values_scale_and_names_follow_the_unit(result, source, target, value, name, expected):
    config = {"conversions": [{"result": result, "from": source, "to": target}]}
    got_name, got = Convert().transform(result, value, config)
    assert got_name == name and got == pytest.approx(expected)


def test_other_results_and_non_numbers_pass_unchanged():
    config = {"conversions": [{"result": "rtt_ms", "from": "ms", "to": "s",
                               "rename": "rtt_seconds"}]}
    assert Convert().transform("loss_pct", 3.0, config) == ("loss_pct", 3.0)
    assert Convert().transform("rtt_ms", None, config) == ("rtt_seconds", None)
    assert Convert().transform("rtt_ms", True, config) == ("rtt_seconds", True)


def test_object_fields_are_scaled():
    config = {"conversions": [{"result": "probe", "from": "ms", "to": "us",
                               "fields": ["rtt"]}]}
    assert Convert().transform("probe", {"rtt": 1.5, "seq": 3}, config) == \
        ("probe", {"rtt": 1500.0, "seq": 3})


def test_units_of_different_kinds_are_refused():
    config = {"conversions": [{"result": "a", "from": "ms", "to": "s"},
                              {"result": "b", "from": "ms", "to": "bits"}]}
    assert Convert().check(config) == [(["conversions", 1, "to"],
                                        "cannot convert ms (time) to bits (data)")]
