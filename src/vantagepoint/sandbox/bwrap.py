"""The bubblewrap command line of one experiment.

Inside, the experiment finds (paths as the mobile-broadband testbed has them):

    /                 read-only: the user's root file system image, else the node's
                      system directories (/usr, /bin, /lib..., a few files of /etc)
    /monroe/program   read-only: the user's program directory, if one was given
    /monroe/config    read-only: the JSON options given at schedule time
    /monroe/results   writable: shipped to the core during and after the run
    /monroe/bus       the metadata bus's socket directory (ipc endpoints)
    /tmp              a private tmpfs

It has its own PID, mount, IPC and UTS namespaces, and no capability but
CAP_NET_RAW (raw sockets for ping and traceroute).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

HOST_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32")
HOST_ETC = ("/etc/hosts", "/etc/resolv.conf", "/etc/nsswitch.conf", "/etc/passwd", "/etc/group",
            "/etc/localtime", "/etc/protocols", "/etc/services", "/etc/ld.so.cache",
            "/etc/ssl", "/etc/ca-certificates", "/etc/alternatives", "/etc/mime.types")
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
BUS_DIR = "/monroe/bus"


def available() -> str | None:
    """Why bubblewrap cannot be used here, or None."""
    if shutil.which("bwrap") is None:
        return "bubblewrap is not installed on this node (Debian package bubblewrap)"
    return None


@dataclass
class Plan:
    """What one sandbox is made of."""

    argv: list[str]
    results: Path
    config: Path
    rootfs: Path | None = None
    program: Path | None = None
    bus_dir: Path | None = None
    bus_socket: str | None = None
    own_network: bool = True  # False: the caller already placed it in a namespace
    env: dict[str, str] = field(default_factory=dict)


def _bind_tree(source: Path, target: str = "") -> list[str]:
    """Read-only binds of each top-level entry of ``source`` (symlinks kept as links)."""
    args: list[str] = []
    for entry in sorted(source.iterdir()):
        where = f"{target}/{entry.name}"
        if entry.is_symlink():
            args += ["--symlink", os.readlink(entry), where]
        else:
            args += ["--ro-bind", str(entry), where]
    return args


def _host_base() -> list[str]:
    args: list[str] = []
    for path in HOST_DIRS:
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    for path in HOST_ETC:
        if os.path.exists(path):
            args += ["--ro-bind", path, path]
    return args


def command(plan: Plan) -> list[str]:
    """The ``bwrap`` argv that runs ``plan.argv`` in its sandbox."""
    args = ["bwrap", "--die-with-parent", "--new-session", "--unshare-pid", "--unshare-ipc",
            "--unshare-uts", "--hostname", "vantage-experiment",
            "--cap-drop", "ALL", "--cap-add", "CAP_NET_RAW"]
    if plan.own_network:
        args.append("--unshare-net")
    args += _bind_tree(plan.rootfs) if plan.rootfs is not None else _host_base()
    args += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
             "--dir", "/monroe", "--ro-bind", str(plan.config), "/monroe/config",
             "--bind", str(plan.results), "/monroe/results"]
    if plan.program is not None:
        args += ["--ro-bind", str(plan.program), "/monroe/program"]
    env = {"PATH": PATH, "HOME": "/tmp", "MONROE_RESULTS": "/monroe/results", **plan.env}
    if plan.bus_dir is not None and plan.bus_dir.is_dir():
        args += ["--ro-bind", str(plan.bus_dir), BUS_DIR]
        if plan.bus_socket:
            env["VANTAGE_BUS"] = f"ipc://{BUS_DIR}/{plan.bus_socket}"
    args += ["--remount-ro", "/", "--chdir", "/monroe/results", "--clearenv"]
    for key, value in env.items():
        args += ["--setenv", key, value]
    return [*args, "--", *plan.argv]
