"""The node's layer cache: each archive fetched once, verified, unpacked once, shared read-only.

Layout under the agent's data directory::

    layers/<hex>.tar    the archive as the core serves it (its SHA-256 is <hex>)
    layers/<hex>.d/     its unpacked tree, complete once it exists (renamed into place)
"""

from __future__ import annotations

import hashlib
import re
import shutil
import tarfile
from collections.abc import Callable, Iterable
from pathlib import Path

DIGEST = re.compile(r"^sha256:([0-9a-f]{64})$")
DIGEST_PATTERN = DIGEST.pattern
UNPACK_FACTOR = 3  # archive plus its unpacked tree, with room to spare
Download = Callable[[str, Path], None]  # (digest, target) -> writes the archive


class LayerError(Exception):
    """A layer cannot be used (bad digest, bad archive); the run cannot go on."""


class Delayed(Exception):
    """A layer cannot be prepared yet (e.g. not enough free disk); try again later."""


def hexdigest(digest: str) -> str:
    found = DIGEST.match(digest)
    if found is None:
        raise LayerError(f"{digest!r} is not a layer digest (sha256:<64 hex digits>)")
    return found.group(1)


def cache_root(data_dir: Path) -> Path:
    return Path(data_dir) / "layers"


class LayerCache:
    """Archives and unpacked trees by digest, in ``root``."""

    def __init__(self, root: Path, reserve_bytes: int = 0):
        self.root, self.reserve = Path(root), reserve_bytes

    def archive(self, digest: str) -> Path:
        return self.root / f"{hexdigest(digest)}.tar"

    def tree(self, digest: str) -> Path:
        return self.root / f"{hexdigest(digest)}.d"

    def ready(self, digest: str) -> bool:
        return self.tree(digest).is_dir()

    def check_space(self, size: int) -> None:
        """Delayed when a layer of ``size`` bytes would not fit with the reserve kept free."""
        self.root.mkdir(parents=True, exist_ok=True)
        free = shutil.disk_usage(self.root).free
        need = size * UNPACK_FACTOR + self.reserve
        if free < need:
            raise Delayed(f"not enough free disk for a layer of {size / 1e6:.1f} MB: "
                          f"{need / 1e6:.1f} MB needed, {free / 1e6:.1f} MB free")

    def prepare(self, digest: str, download: Download) -> bool:
        """Fetch (unless cached) and unpack one layer; True if it was downloaded now."""
        if self.ready(digest):
            return False
        fetched = not self.archive(digest).is_file()
        if fetched:
            self._fetch(digest, download)
        self._unpack(digest)
        self.archive(digest).unlink(missing_ok=True)  # the tree is what runs use
        return fetched

    def prepare_all(self, digests: Iterable[str], download: Download) -> list[str]:
        """Prepare every layer; the digests that had to be downloaded."""
        return [d for d in digests if self.prepare(d, download)]

    def _fetch(self, digest: str, download: Download) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        partial = self.root / f"{hexdigest(digest)}.part"
        download(digest, partial)
        if sha256_of(partial) != hexdigest(digest):
            partial.unlink(missing_ok=True)
            raise LayerError(f"layer {digest} arrived corrupted (its SHA-256 differs)")
        partial.replace(self.archive(digest))

    def _unpack(self, digest: str) -> None:
        scratch = self.root / f"{hexdigest(digest)}.unpacking"
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir(parents=True)
        try:
            with tarfile.open(self.archive(digest)) as tar:
                tar.extractall(scratch, filter=_safe)
        except (tarfile.TarError, OSError) as exc:
            shutil.rmtree(scratch, ignore_errors=True)
            raise LayerError(f"layer {digest} cannot be unpacked: {exc}") from exc
        scratch.chmod(0o755)
        scratch.rename(self.tree(digest))


def sha256_of(path: Path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1024 * 1024):
            sha.update(chunk)
    return sha.hexdigest()


def _safe(member: tarfile.TarInfo, dest: str) -> tarfile.TarInfo | None:
    """tarfile's 'tar' filter (nothing outside the tree, no set-uid), and no device files."""
    member = tarfile.tar_filter(member, dest)
    if member.ischr() or member.isblk() or member.isfifo():
        return None
    return member
