"""Deploying experiments ahead: layers fetched once from a real (in-process) core,
at most N ahead, delays and failures logged with their reasons."""

from __future__ import annotations

import hashlib
import io
import tarfile

import pytest
from fastapi.testclient import TestClient

from tests.core.conftest import enrol
from tests.support import ADMIN_TOKEN, wait_until
from vantagepoint.agent.client import CoreClient
from vantagepoint.agent.deployer import Deployer, DeployFailed, layer_digests
from vantagepoint.config import AgentSettings
from vantagepoint.core import create_app
from vantagepoint.sandbox.layers import LayerCache
from vantagepoint.wire import Assignment


@pytest.fixture
def core(core_settings):
    with TestClient(create_app(core_settings)) as client:
        client.headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"
        yield client


@pytest.fixture
def agent_client(core):
    token = enrol(core, "n1")
    client = CoreClient(AgentSettings(core_url="http://testserver", token=token),
                        transport=core._transport)
    yield client
    client.close()


def _layer(core, content: bytes) -> str:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("run.sh")
        info.size = len(content)
        tar.addfile(info, io.BytesIO(content))
    body = buffer.getvalue()
    digest = "sha256:" + hashlib.sha256(body).hexdigest()
    assert core.put(f"/api/v1/layers/{digest}", content=body).status_code == 200
    return digest


def _assignment(execution_id: int, *digests: str) -> Assignment:
    actions = [{"name": f"e{i}", "node": "n1", "tool": "experiment",
                "config": {"argv": ["x"], "program": d}} for i, d in enumerate(digests)]
    return Assignment(execution_id=execution_id, state="deploying", node_state="assigned",
                      start_at="2030-01-01T00:00:00Z", duration=10, actions=actions)


class Log:
    def __init__(self):
        self.lines: list[tuple[int, str, str]] = []

    def __call__(self, execution_id: int, message: str, level: str) -> None:
        self.lines.append((execution_id, message, level))

    def of(self, execution_id: int) -> list[str]:
        return [m for e, m, _ in self.lines if e == execution_id]


def _deployer(agent_client, tmp_path, reserve: int = 0, ahead: int = 3):
    log = Log()
    deployer = Deployer(LayerCache(tmp_path / "layers", reserve), agent_client, log, ahead)
    return deployer, log


def _until_go(deployer: Deployer, a: Assignment, waiting: int = 0) -> bool:
    return wait_until(lambda: deployer.may_deploy(a, waiting), timeout=30, what="deploy")


def test_layer_is_fetched_once_for_two_executions(core, agent_client, tmp_path):
    digest = _layer(core, b"echo one\n")
    deployer, log = _deployer(agent_client, tmp_path)
    first, second = _assignment(1, digest), _assignment(2, digest, digest)
    assert layer_digests(second) == [digest]
    _until_go(deployer, first)
    deployer.check(1)
    assert any("fetched and unpacked" in m for m in log.of(1))
    assert deployer.may_deploy(second, 1) is True  # in the cache: no wait at all
    assert log.of(2) == ["deploy: 1 layer(s) in this node's cache"]
    assert (tmp_path / "layers" / f"{digest[7:]}.d" / "run.sh").read_bytes() == b"echo one\n"
    deployer.stop()


def test_no_more_than_n_ahead_and_the_delay_is_logged_once(core, agent_client, tmp_path):
    digest = _layer(core, b"echo two\n")
    deployer, log = _deployer(agent_client, tmp_path, ahead=3)
    a = _assignment(4, digest)
    assert deployer.may_deploy(a, 3) is False
    assert deployer.may_deploy(a, 3) is False
    assert log.of(4) == ["deploy delayed: 3 experiments are already deployed ahead on this node"]
    _until_go(deployer, a, waiting=2)  # one of them started: room again
    cached = _assignment(7, digest)  # the layer is cached now: the limit holds all the same
    assert deployer.may_deploy(cached, 3) is False
    assert deployer.may_deploy(cached, 2) is True
    deployer.stop()


def test_unknown_layer_fails_the_deploy_with_the_reason(core, agent_client, tmp_path):
    deployer, log = _deployer(agent_client, tmp_path)
    missing = "sha256:" + "e" * 64
    _until_go(deployer, _assignment(5, missing))
    with pytest.raises(DeployFailed, match="no layer"):
        deployer.check(5)
    deployer.stop()


def test_layer_that_does_not_fit_on_disk_is_delayed(core, agent_client, tmp_path):
    digest = _layer(core, b"echo three\n")
    deployer, log = _deployer(agent_client, tmp_path, reserve=10**18)
    a = _assignment(6, digest)

    def delayed() -> bool:
        assert deployer.may_deploy(a, 0) is False  # each call moves the deploy on
        return any("not enough free disk" in m for m in log.of(6))

    wait_until(delayed, timeout=30, what="the disk delay")
    assert any(m.startswith("deploy delayed: not enough free disk") for m in log.of(6))
    assert not (tmp_path / "layers" / f"{digest[7:]}.d").exists()
    deployer.stop()
