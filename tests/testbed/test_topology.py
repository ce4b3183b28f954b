"""The plan: names, addresses, operators and link settings (no root needed)."""

from __future__ import annotations

import pytest

from vantagepoint.testbed import LinkSpec, TestbedError, load_links, plan


def test_addresses_follow_the_plan():
    p = plan(3, 2)
    n2 = p.node("n2")
    assert n2.namespace == "vp-n2" and n2.mgmt_address == "198.19.0.12"
    assert [(i.name, i.address, i.gateway, i.bridge, i.host_dev) for i in n2.interfaces] == [
        ("op0", "198.18.0.12", "198.18.0.1", "vp-br0", "vp-n2o0"),
        ("op1", "198.18.1.12", "198.18.1.1", "vp-br1", "vp-n2o1"),
    ]
    assert p.bridges == ["vp-br0", "vp-br1"] and p.operators == ("operator0", "operator1")
    assert p.core_address == "198.19.0.2" and p.emulated == []


def test_link_settings_override_the_defaults():
    links = load_links({"operators": ["telenor"], "defaults": {"rate_mbit": 100},
                        "links": {"n1": {"op1": {"delay_ms": 20, "loss_pct": 1}}}})
    p = plan(2, 2, links)
    op1 = p.node("n1").interface("op1")
    assert op1.link == LinkSpec(rate_mbit=100, delay_ms=20, loss_pct=1)
    assert op1.link.emulated and op1.operator == "operator1"
    assert p.node("n1").interface("op0").operator == "telenor"
    assert p.node("n2").interface("op1").link == LinkSpec(rate_mbit=100)
    assert [(n.name, i.name) for n, i in p.emulated] == [("n1", "op1")]


def test_links_file_is_read_from_yaml(tmp_path):
    path = tmp_path / "links.yaml"
    path.write_text("links:\n  n1:\n    op0: {rate_mbit: 10, jitter_ms: 2}\n")
    link = plan(1, 1, load_links(path)).node("n1").interface("op0").link
    assert link.rate_mbit == 10 and link.jitter_ms == 2 and link.emulated


@pytest.mark.parametrize("source, words", [
    ({"links": {"n1": {"op0": {"delay": 5}}}}, "delay"),
    ({"links": {"n1": {"op0": {"loss_pct": 120}}}}, "loss_pct"),
    ({"lnks": {}}, "lnks"),
])
def test_bad_links_files_are_refused_with_the_field(source, words):
    with pytest.raises(TestbedError, match=words):
        load_links(source)


def test_links_to_missing_nodes_or_interfaces_are_refused():
    with pytest.raises(TestbedError, match="n3/op0, n1/op2"):
        plan(2, 2, load_links({"links": {"n3": {"op0": {}}, "n1": {"op2": {}}}}))


@pytest.mark.parametrize("nodes, interfaces", [(0, 1), (241, 1), (1, 0), (1, 17)])
def test_counts_out_of_range_are_refused(nodes, interfaces):
    with pytest.raises(TestbedError, match="must be"):
        plan(nodes, interfaces)


def test_more_operators_than_interfaces_is_refused():
    with pytest.raises(TestbedError, match="--interfaces 2"):
        plan(1, 1, load_links({"operators": ["a", "b"]}))
