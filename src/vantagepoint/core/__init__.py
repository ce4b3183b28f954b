"""The core: REST API, store, scheduler, execution coordinator.

``create_app`` and ``serve`` load lazily so that importing a submodule (e.g. the
filter parser from the CLI) does not build the whole application.
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_app", "serve"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from vantagepoint.core import app

        return getattr(app, name)
    raise AttributeError(name)
