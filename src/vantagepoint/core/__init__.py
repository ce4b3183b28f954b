"""The core: REST API, store, execution coordinator."""

from vantagepoint.core.app import create_app, serve

__all__ = ["create_app", "serve"]
