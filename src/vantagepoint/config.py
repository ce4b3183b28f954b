"""Settings for the core and the agent (pydantic-settings, env prefix VANTAGE_).

Nothing is created at import time: callers build a Settings and hand it on.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class CoreSettings(BaseSettings):
    """How a core process runs. Every field can be set as VANTAGE_<NAME>."""

    model_config = SettingsConfigDict(env_prefix="VANTAGE_", extra="ignore")

    database_url: str = Field(
        "sqlite:///./vantage-data/core.db",
        description="SQLAlchemy URL: sqlite:///path or postgresql+psycopg://user@host/db.",
    )
    admin_token: str | None = Field(
        None, description="Token for the bootstrap admin; generated when unset."
    )
    admin_token_file: Path | None = Field(
        None, description="Where the bootstrap admin token is written on first start."
    )
    tick_seconds: float = Field(0.25, description="Period of the execution coordinator.")
    start_margin_seconds: float = Field(
        1.5, description="Lead time between the barrier passing and the synchronised start."
    )
    ready_timeout_seconds: float = Field(
        60.0, description="How long after its start an execution may wait for its nodes' init."
    )
    deploy_ahead_seconds: float = Field(
        120.0, description="How long before its start an execution is offered to agents."
    )
    end_grace_seconds: float = Field(
        60.0, description="How long after its end an execution waits for every node's report."
    )
    node_offline_seconds: float = Field(
        600.0, description="A node not heard for this long is shown offline."
    )


class AgentSettings(BaseSettings):
    """How an agent runs. Every field can be set as VANTAGE_AGENT_<NAME>."""

    model_config = SettingsConfigDict(env_prefix="VANTAGE_AGENT_", extra="ignore")

    core_url: str = Field("http://127.0.0.1:8080", description="Base URL of the core.")
    token: str = Field("", description="Node token issued by the core's admin.")
    name: str = Field("", description="This node's name; unique in the fleet.")
    data_dir: Path = Field(Path("./vantage-agent"), description="Spool and work files.")
    interfaces: dict[str, str] = Field(
        default_factory=dict, description="Measurement interfaces: name -> OS device."
    )
    attributes: dict[str, str] = Field(default_factory=dict, description="Node attributes.")
    heartbeat_seconds: float = Field(10.0, description="Heartbeat period.")
    poll_seconds: float = Field(0.5, description="Assignment poll period.")
    upload_seconds: float = Field(1.0, description="Result upload period.")
    upload_batch: int = Field(500, description="Largest number of records in one upload.")
    kill_grace_seconds: float = Field(
        5.0, description="How long a tool may overrun its period before its worker is killed."
    )
