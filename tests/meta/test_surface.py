"""Meta-tests that keep the surface honest: routes documented, settings described."""

from __future__ import annotations

from vantagepoint.config import AgentSettings, CoreSettings
from vantagepoint.core import create_app


def _operations():
    schema = create_app(CoreSettings(database_url="sqlite://")).openapi()
    return [(path, method, op) for path, ops in schema["paths"].items()
            for method, op in ops.items()]


def test_every_route_has_a_summary_and_docstring():
    operations = _operations()
    assert len(operations) > 20
    for path, method, op in operations:
        assert op.get("summary"), f"{method.upper()} {path} has no summary"
        assert op.get("description"), f"{method.upper()} {path} has no docstring"


def test_every_setting_is_described():
    for model in (CoreSettings, AgentSettings):
        for name, field in model.model_fields.items():
            assert field.description, f"{model.__name__}.{name} has no description"


def test_api_paths_are_versioned():
    paths = {path for path, _, _ in _operations()}
    assert all(p.startswith("/api/v1/") or p == "/" for p in paths), paths
