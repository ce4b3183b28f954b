"""`vantage tokens create --scope/--expires` and `vantage audit` against a real core."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from tests.support import ADMIN_TOKEN

pytestmark = pytest.mark.integration


def _vantage(core, *args: str, token: str = ADMIN_TOKEN) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vantagepoint.cli.main", *args, "--url",
                           core.url, "--token", token], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "COLUMNS": "200"})


def test_scoped_expiring_tokens_and_the_audit_log(core):
    made = _vantage(core, "tokens", "create", "--scope", "read", "--expires", "2d",
                    "--label", "ro")
    assert made.returncode == 0, made.stderr
    secret = made.stdout.strip()
    listed = json.loads(_vantage(core, "tokens", "list", "--json").stdout)
    mine = next(t for t in listed if t["label"] == "ro")
    assert mine["scopes"] == ["read"]
    expires = datetime.fromisoformat(mine["expires_at"])
    assert abs(expires - (datetime.now(UTC) + timedelta(days=2))) < timedelta(minutes=5)
    refused = _vantage(core, "users", "list", token=secret)
    assert refused.returncode != 0 and "'admin' scope" in refused.stderr + refused.stdout
    rows = json.loads(_vantage(core, "audit", "--json", "--action", "token.create").stdout)
    assert [r["target"] for r in rows] == [f"token {mine['id']} of user admin"]
    assert rows[0]["address"] == "127.0.0.1" and rows[0]["actor"] == "admin"
    table = _vantage(core, "audit", "--since", "-1h")
    assert table.returncode == 0 and "token.create" in table.stdout


@pytest.mark.parametrize("args", [["--scope", "root"], ["--expires", "yesterday"],
                                  ["--expires", "2020-01-01T00:00:00Z"]])
def test_bad_scope_or_expiry_is_a_usage_error(core, args):
    out = _vantage(core, "tokens", "create", *args)
    assert out.returncode == 2, out.stdout + out.stderr
    assert "--scope" in out.stderr or "--expires" in out.stderr
