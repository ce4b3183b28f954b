"""An in-process core with archivers configured."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.support import ADMIN_TOKEN
from vantagepoint.core import create_app


@pytest.fixture
def archiving(core_settings):
    """Start an in-process core with the given archivers; closed at the end."""
    started = []

    def start(*archivers) -> TestClient:
        settings = core_settings.model_copy(update={"archivers": list(archivers),
                                                    "archive_poll_seconds": 0.05})
        client = TestClient(create_app(settings)).__enter__()
        client.headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"
        started.append(client)
        return client

    yield start
    for client in started:
        client.__exit__(None, None, None)
