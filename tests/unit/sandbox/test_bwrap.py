"""The bubblewrap command line: what is bound where, and what is left out."""

from __future__ import annotations

from pathlib import Path

from vantagepoint.sandbox.bwrap import Plan, command


def _pairs(argv: list[str], flag: str) -> list[tuple[str, str]]:
    return [(argv[i + 1], argv[i + 2]) for i, a in enumerate(argv) if a == flag]


def test_host_base_is_read_only_and_monroe_paths_are_bound(tmp_path):
    argv = command(Plan(argv=["/bin/true"], results=tmp_path / "r", config=tmp_path / "c"))
    assert argv[0] == "bwrap" and argv[-2:] == ["--", "/bin/true"]
    assert (str(tmp_path / "c"), "/monroe/config") in _pairs(argv, "--ro-bind")
    assert _pairs(argv, "--bind") == [(str(tmp_path / "r"), "/monroe/results")]
    assert "--unshare-net" in argv and "--unshare-pid" in argv
    assert ("/etc", "/etc") not in _pairs(argv, "--ro-bind")  # not the whole of /etc
    assert argv[argv.index("--remount-ro") + 1] == "/"


def test_root_image_entries_and_bus_are_bound(tmp_path):
    root = tmp_path / "root"
    (root / "usr").mkdir(parents=True)
    (root / "bin").symlink_to("usr/bin")
    bus = tmp_path / "bus"
    bus.mkdir()
    argv = command(Plan(argv=["x"], results=tmp_path, config=tmp_path / "c", rootfs=root,
                        bus_dir=bus, bus_socket="metadata.ipc", own_network=False))
    assert (str(root / "usr"), "/usr") in _pairs(argv, "--ro-bind")
    assert ("usr/bin", "/bin") in _pairs(argv, "--symlink")
    assert (str(bus), "/monroe/bus") in _pairs(argv, "--ro-bind")
    assert ("VANTAGE_BUS", "ipc:///monroe/bus/metadata.ipc") in _pairs(argv, "--setenv")
    assert "--unshare-net" not in argv


def test_missing_bus_directory_is_not_bound(tmp_path):
    argv = command(Plan(argv=["x"], results=tmp_path, config=tmp_path / "c",
                        bus_dir=Path("/nonexistent/bus"), bus_socket="m.ipc"))
    assert "/monroe/bus" not in argv
