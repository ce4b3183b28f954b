"""The experiment tool in-process: a root file system image as the root, refusals with reasons.

The sandbox needs root (bubblewrap keeps CAP_NET_RAW only for root): skipped
with the reason elsewhere, run under CI=true.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from vantagepoint.errors import ToolError
from vantagepoint.sandbox.layers import LayerCache, cache_root
from vantagepoint.testing import root_skip_reason, run_tool
from vantagepoint.tools.base import ActionEnv
from vantagepoint.tools.experiment import Experiment

_why = root_skip_reason() or (None if shutil.which("bwrap") else "bubblewrap is missing")
pytestmark = pytest.mark.skipif(bool(_why) and os.environ.get("CI") != "true",
                                reason=_why or "")


def _env(data: Path, interface: str | None = None) -> ActionEnv:
    workdir = data / "work" / "1" / "exp"
    workdir.mkdir(parents=True)
    return ActionEnv(node="n1", action="exp", interface=interface, device=interface,
                     workdir=str(workdir))


def _dash_image(tmp_path: Path) -> Path:
    """A root file system holding only /bin/sh (dash) and the libraries it links."""
    root = tmp_path / "image"
    for line in subprocess.run(["ldd", "/bin/dash"], capture_output=True, text=True,
                               check=True).stdout.splitlines():
        path = next((p for p in line.split() if p.startswith("/")), None)
        if path:
            target = root / path.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
    (root / "bin").mkdir(exist_ok=True)
    shutil.copy2("/bin/dash", root / "bin" / "sh")
    archive = tmp_path / "image.tar"
    with tarfile.open(archive, "w") as tar:
        for path in sorted(root.rglob("*")):
            tar.add(path, arcname=str(path.relative_to(root)), recursive=False)
    return archive


def test_root_image_is_the_sandbox_root(tmp_path):
    archive = _dash_image(tmp_path)
    digest = "sha256:" + hashlib.sha256(archive.read_bytes()).hexdigest()
    data = tmp_path / "agent"
    LayerCache(cache_root(data)).prepare(digest, lambda _d, t: shutil.copyfile(archive, t))
    env = _env(data)
    script = ("test -e /usr/bin/python3 && echo host > /monroe/results/r || "
              "echo image > /monroe/results/r; echo x > /bin/new 2>/dev/null || "
              "echo read-only >> /monroe/results/r")
    results, logs = run_tool(Experiment, {"rootfs": digest, "argv": ["/bin/sh", "-c", script]},
                             5, env=env)
    assert dict((n, v) for n, v, _ in results)["exit_status"] == 0, logs
    assert (Path(env.workdir) / "results" / "r").read_text() == "image\nread-only\n"


def test_layer_missing_from_the_cache_is_refused(tmp_path):
    tool = Experiment(_env(tmp_path / "agent"))
    with pytest.raises(ToolError, match="not in this node's cache"):
        tool.init({"program": "sha256:" + "1" * 64, "argv": ["x"]}, [])
    tool.finish()


def test_layers_need_the_agents_cache():
    tool = Experiment(ActionEnv(node="n1", action="exp"))
    with pytest.raises(ToolError, match="layer cache"):
        tool.init({"program": "sha256:" + "1" * 64, "argv": ["x"]}, [])
    tool.finish()


def test_unknown_device_is_refused_and_nothing_is_left(tmp_path):
    tool = Experiment(_env(tmp_path / "agent", interface="nosuchdev0"))
    with pytest.raises(ToolError, match="does not exist"):
        tool.init({"argv": ["x"]}, [])
    tool.finish()
    assert "vpx-" not in subprocess.run(["ip", "netns", "list"], capture_output=True,
                                        text=True).stdout


def test_cpu_limit_holds_a_busy_loop_to_its_share(tmp_path):
    env = _env(tmp_path / "agent")
    busy = ("import os, time\n"
            "start, cpu = time.monotonic(), time.process_time()\n"
            "while time.monotonic() - start < 2: pass\n"
            "share = (time.process_time() - cpu) / (time.monotonic() - start)\n"
            "open('/monroe/results/share', 'w').write(str(share))\n")
    results, logs = run_tool(Experiment, {"cpus": 0.2, "argv": ["python3", "-c", busy]}, 10,
                             env=env)
    share = float((Path(env.workdir) / "results" / "share").read_text())
    notes = [m for _, m in logs if "not enforced" in m]
    if notes:
        pytest.skip(notes[0])
    assert share < 0.5, f"the loop used {share:.2f} of a core under a 0.2 limit"
