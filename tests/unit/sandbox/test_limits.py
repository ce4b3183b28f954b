"""Limits: the strongest mechanism the host offers, and the checks that stop a sandbox."""

from __future__ import annotations

import os
import subprocess

import pytest

from vantagepoint.sandbox import limits
from vantagepoint.sandbox.limits import Group, Limits, group_for
from vantagepoint.sandbox.watch import Check, first_exceeded, tree_bytes


def test_no_limits_need_no_group():
    assert type(group_for(Limits(), "x")) is Group


def test_rlimit_fallback_limits_address_space():
    group = Group(Limits(memory_bytes=64 * 1024 * 1024))
    script = "import sys; x = bytearray(256 * 1024 * 1024)"
    done = subprocess.run(group.wrap(["python3", "-c", script]), capture_output=True)
    assert done.returncode != 0 and b"MemoryError" in done.stderr
    assert any("address space" in note for note in group.notes())


@pytest.mark.skipif(os.geteuid() != 0, reason="cgroups need root")
def test_cgroup_group_is_created_joined_and_removed():
    group = group_for(Limits(memory_bytes=64 * 1024 * 1024, cpus=0.5), f"t{os.getpid()}")
    if type(group) is Group:
        pytest.skip("no writable cgroup hierarchy on this host")
    group.create()
    try:
        done = subprocess.run(group.wrap(["cat", "/proc/self/cgroup"]), capture_output=True,
                              text=True)
        assert f"/vantage/t{os.getpid()}" in done.stdout
    finally:
        group.remove()
    assert not any(d.exists() for d in group.dirs())


def test_checks_name_the_first_exceeded_limit(tmp_path):
    (tmp_path / "a").write_bytes(b"x" * 3000)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b").write_bytes(b"x" * 500)
    assert tree_bytes(tmp_path) == 3500
    checks = [Check("results storage", lambda: tree_bytes(tmp_path), 4000),
              Check("traffic on op0", lambda: 2_500_000, 1_000_000)]
    assert first_exceeded(checks) == "traffic on op0 limit of 1 MB exceeded (2.5 MB)"
    assert first_exceeded(checks[:1]) is None
    assert Check("x", lambda: 10, None).exceeded() is None


def test_v1_oom_count_is_read(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "CGROUP", tmp_path)
    group = limits.V1(Limits(memory_bytes=1), "g")
    folder = tmp_path / "memory" / "vantage" / "g"
    folder.mkdir(parents=True)
    (folder / "memory.oom_control").write_text("oom_kill_disable 0\nunder_oom 0\noom_kill 2\n")
    assert group.oom_kills() == 2
