"""The node's layer cache: verified, unpacked once, nothing outside its tree."""

from __future__ import annotations

import hashlib
import io
import shutil
import tarfile
from pathlib import Path

import pytest

from vantagepoint.sandbox.layers import Delayed, LayerCache, LayerError, hexdigest


def _tar(members: list[tarfile.TarInfo], data: dict[str, bytes] | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for info in members:
            payload = (data or {}).get(info.name)
            if payload is not None:
                info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload) if payload is not None else None)
    return buffer.getvalue()


def _file(name: str, mode: int = 0o644) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.mode = mode
    return info


def _server(blobs: dict[str, bytes], calls: list[str]):
    def download(digest: str, target: Path) -> None:
        calls.append(digest)
        target.write_bytes(blobs[digest])
    return download


def _digest(body: bytes) -> str:
    return "sha256:" + hashlib.sha256(body).hexdigest()


def test_layer_is_downloaded_once_and_unpacked(tmp_path):
    body = _tar([_file("bin/run", 0o4755)], {"bin/run": b"#!/bin/sh\necho hi\n"})
    digest, calls = _digest(body), []
    cache = LayerCache(tmp_path)
    assert cache.prepare(digest, _server({digest: body}, calls)) is True
    assert cache.prepare(digest, _server({digest: body}, calls)) is False
    assert calls == [digest]
    run = cache.tree(digest) / "bin" / "run"
    assert run.read_bytes() == b"#!/bin/sh\necho hi\n"
    assert run.stat().st_mode & 0o7777 == 0o755  # no set-uid from a user's archive
    assert not cache.archive(digest).exists()  # only the tree is kept


def test_corrupted_download_is_refused_and_not_kept(tmp_path):
    body = _tar([_file("a")], {"a": b"1"})
    digest = _digest(body)
    cache = LayerCache(tmp_path)
    with pytest.raises(LayerError, match="corrupted"):
        cache.prepare(digest, _server({digest: body + b"tampered"}, []))
    assert not cache.ready(digest) and list(tmp_path.iterdir()) == []


def test_members_escaping_the_tree_are_refused(tmp_path):
    evil = _tar([_file("../../escaped")], {"../../escaped": b"x"})
    digest = _digest(evil)
    with pytest.raises(LayerError, match="cannot be unpacked"):
        LayerCache(tmp_path / "cache").prepare(digest, _server({digest: evil}, []))
    assert not (tmp_path / "escaped").exists()


def test_device_files_are_left_out(tmp_path):
    device = tarfile.TarInfo("dev/sda")
    device.type, device.devmajor, device.devminor = tarfile.BLKTYPE, 8, 0
    body = _tar([device, _file("ok")], {"ok": b"fine"})
    digest = _digest(body)
    cache = LayerCache(tmp_path)
    cache.prepare(digest, _server({digest: body}, []))
    assert (cache.tree(digest) / "ok").exists() and not (cache.tree(digest) / "dev/sda").exists()


def test_space_check_keeps_the_reserve(tmp_path):
    free = shutil.disk_usage(tmp_path).free
    LayerCache(tmp_path, reserve_bytes=0).check_space(1000)
    with pytest.raises(Delayed, match="not enough free disk"):
        LayerCache(tmp_path, reserve_bytes=free + 10**12).check_space(1000)


def test_digest_must_be_sha256():
    with pytest.raises(LayerError):
        hexdigest("md5:abc")
    assert hexdigest("sha256:" + "a" * 64) == "a" * 64
