"""Settings for the core and the agent (pydantic-settings, env prefix VANTAGE_).

Nothing is created at import time: callers build a Settings and hand it on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class SystemMeasurement(BaseModel):
    """One heavy background measurement the core schedules on every suitable node."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_-]{0,40}$")
    tool: str = Field(min_length=1, max_length=64)
    config: dict[str, Any] = Field(default_factory=dict)
    results: list[str] = Field(default_factory=list)
    every: float = Field(3600.0, gt=0, description="Period, seconds.")
    duration: float = Field(300.0, gt=0, description="Slot length, seconds.")
    filter: str | None = Field(None, description="Only nodes matching this node filter.")
    per_interface: bool = Field(True, description="One action per measurement interface.")


class CoreSettings(BaseSettings):
    """How a core process runs. Every field can be set as VANTAGE_<NAME>."""

    # hide_input_in_errors: a refused setting's message must not echo a secret in it.
    model_config = SettingsConfigDict(env_prefix="VANTAGE_", extra="ignore",
                                      hide_input_in_errors=True)

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
    files_dir: Path | None = Field(
        None, description="Where fetched result files are kept; beside the SQLite file, "
                          "else ./vantage-files, when unset."
    )
    max_file_bytes: int = Field(2 * 1024**3, description="Largest file a node may upload.")
    padding_seconds: float = Field(
        120.0, description="Gap kept free between two bookings of a node (deployment)."
    )
    min_duration_seconds: float = Field(300.0, description="Shortest slot a schedule may ask.")
    max_duration_seconds: float = Field(86400.0, description="Longest slot a schedule may ask.")
    min_lead_seconds: float = Field(
        0.0, description="How far ahead of now the earliest start lies."
    )
    max_ahead_days: float = Field(40.0, description="How far ahead a slot may be booked.")
    min_period_seconds: float = Field(3600.0, description="Shortest period of a periodic "
                                                          "schedule.")
    max_span_days: float = Field(31.0, description="Longest span of a periodic schedule.")
    maintenance_windows: list[str] = Field(
        default_factory=list,
        description="Daily UTC windows never booked, as 'HH:MM-HH:MM' (e.g. '03:00-03:30').",
    )
    tool_exclusions: list[list[str]] = Field(
        default_factory=list,
        description="Pairs of tools that never run in parallel on one node, e.g. "
                    "[[\"throughput\", \"ping\"]].",
    )
    tool_max_instances: dict[str, int] = Field(
        default_factory=dict, description="At most N parallel instances of a tool per node."
    )
    policies: list[str] | None = Field(
        None, description="Names of the scheduling policies to apply; all registered if unset."
    )
    default_node_seconds_quota: float = Field(
        100 * 86400.0, description="Node time a new user may book (node-seconds)."
    )
    default_data_bytes_quota: int = Field(
        100 * 10**9, description="Measurement traffic a new user may book (bytes)."
    )
    # ---- alarms (issue 6) ----
    notifiers: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="Named notifier instances, e.g. {\"ops\": {\"kind\": \"webhook\", "
                    "\"url\": \"https://...\"}}; kinds are the vantagepoint.notifiers plugins. "
                    "'log' exists without configuration.")
    default_notifiers: list[str] = Field(
        default_factory=lambda: ["log"],
        description="Notifiers that receive the alarms of scenarios that name none.")
    alarm_poll_seconds: float = Field(
        0.1, gt=0, description="How often new alarms are looked for and delivered.")
    stream_poll_seconds: float = Field(
        0.25, gt=0, description="How often the live stream looks for new rows.")


    # ---- node platform: heavy background measurements as system schedules ----
    system_user: str = Field("system", description="Owner of the system schedules (created "
                                                   "on demand, unlimited quota).")
    system_measurements: list[SystemMeasurement] = Field(
        default_factory=list,
        description="Heavy periodic measurements (e.g. http-download, traceroute) the core books "
                    "on every active node offering the tool, as exclusive system schedules "
                    "that user schedules avoid.")
    system_horizon_hours: float = Field(
        24.0, gt=0, description="How far ahead system schedules are kept booked.")
    # --- production: duty lease and archivers (issue 8) ---
    duties_lease_seconds: float = Field(
        15.0, gt=1, description="How long the duties lease lasts unless renewed; another core "
                                "process takes the duties over this long after the holder died.")
    duties_renew_seconds: float = Field(
        5.0, gt=0, description="How often the holder renews the duties lease and the others "
                               "look whether it expired.")
    archivers: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Archivers that push ingested results elsewhere, as a JSON list of "
                    "{name, kind, options, filter, shape, retry, ttl_seconds} (see "
                    "docs/production.md).")
    archive_batch: int = Field(200, gt=0, description="Most outbox rows one archiver sends "
                                                      "at a time.")
    archive_poll_seconds: float = Field(
        0.5, gt=0, description="How often the outbox is drained by the duties holder.")

    # --- production: Prometheus metrics (issue 8) ---
    metrics_token: str | None = Field(
        None, description="When set, GET /metrics needs 'Authorization: Bearer <this token>'; "
                          "open otherwise (the shipped nginx site never forwards /metrics).")
    metrics_loopback_only: bool = Field(
        False, description="Serve GET /metrics only to clients on this host (127.0.0.1, ::1).")
    metrics_cache_seconds: float = Field(
        1.0, ge=0, description="How long /metrics reuses the gauges it read from the database "
                               "(executions, heartbeats, archivers) before reading again.")

    access_log: bool = Field(
        True, description="Log a line per request (uvicorn's access log, credentials masked). "
                          "Behind nginx, which logs every request itself, false saves each core "
                          "process the few per cent of its CPU the lines cost.")

    # --- production: hardening (issue 8) ---
    max_body_bytes: int = Field(
        1024**2, gt=0, description="Largest request body of the API and dashboard (413 beyond); "
                                   "agent uploads and file uploads have their own limits.")
    max_upload_bytes: int = Field(
        16 * 1024**2, gt=0, description="Largest body of an agent's batch upload (POST "
                                        "/agent/records, /agent/stream, /agent/alarms).")
    rate_limit_user_per_s: float = Field(
        50.0, ge=0, description="Requests a second one user token may make on average "
                                "(per core process); 0: unlimited.")
    rate_limit_user_burst: int = Field(
        500, ge=1, description="Requests one user token may make at once before "
                               "rate_limit_user_per_s applies.")
    rate_limit_node_per_s: float = Field(
        50.0, ge=0, description="Requests a second one node token may make on average (per "
                                "core process; an agent makes about 4); 0: unlimited.")
    rate_limit_node_burst: int = Field(
        1000, ge=1, description="Requests one node token may make at once (an agent back "
                                "online after an outage uploads its spool in a burst).")
    token_cache_seconds: float = Field(
        300.0, ge=0, description="How long a core process trusts a node token it verified "
                                 "without asking the database again. A revocation empties "
                                 "every process's cache within token_stamp_poll_seconds; "
                                 "expiry is checked at every use. 0: look up every request.")
    heartbeat_flush_seconds: float = Field(
        1.0, gt=0, le=10, description="How often each core process writes the heartbeats it "
                                      "answered (the latest per node, in one statement): a "
                                      "node's last_seen and clock skew lag by about this long.")
    token_stamp_poll_seconds: float = Field(
        1.0, gt=0, le=60, description="How often each core process reads the store's token "
                                      "stamp (bumped by every change to a token): a token "
                                      "revoked anywhere is refused within about this long.")
    login_attempts_per_min: float = Field(
        6.0, ge=0, description="Dashboard sign-in attempts a minute one client address may "
                               "make on average (per core process); 0: unlimited.")
    login_attempts_burst: int = Field(
        10, ge=1, description="Sign-in attempts one client address may make at once before "
                              "login_attempts_per_min applies.")

    # --- production: storage at scale (issue 8) ---
    retention_days: dict[str, float] = Field(
        default_factory=dict,
        description="Days results are kept, as JSON: result name or glob (trace*) -> days "
                    "for execution results, '@background' -> days for the nodes' background "
                    "results; a result no rule names is kept forever (the default).")
    retention_batch: int = Field(5000, gt=0, description="Most expired results one delete "
                                                         "removes (one transaction each).")
    storage_duty_seconds: float = Field(
        600.0, gt=0, description="How often the storage duty runs: PostgreSQL partitions "
                                 "created ahead, then retention applied.")

    @field_validator("retention_days")
    @classmethod
    def _retention_rules(cls, rules: dict[str, float]) -> dict[str, float]:
        for pattern, days in rules.items():
            if not pattern or len(pattern) > 64:
                raise ValueError(f"retention_days: pattern {pattern!r} must be 1-64 characters")
            if not days > 0:
                raise ValueError(f"retention_days[{pattern!r}]: days must be > 0, not {days}")
        return rules

    @model_validator(mode="after")
    def _lease_outlives_renewal(self) -> CoreSettings:
        # The holder trusts its lease until one second before it could be taken; it
        # must renew before then or the duties would stop between renewals.
        if self.duties_renew_seconds >= self.duties_lease_seconds - 1:
            raise ValueError("duties_renew_seconds must be shorter than "
                             "duties_lease_seconds - 1 s")
        return self


class AgentSettings(BaseSettings):
    """How an agent runs. Every field can be set as VANTAGE_AGENT_<NAME>."""

    model_config = SettingsConfigDict(env_prefix="VANTAGE_AGENT_", extra="ignore",
                                      hide_input_in_errors=True)

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
    alarm_seconds: float = Field(
        0.1, gt=0, description="How often new alarms are sent to the core (ahead of results).")
    keep_files_days: float = Field(
        7.0, description="How long result files (e.g. captures) stay in the node's store."
    )
    fetch_seconds: float = Field(2.0, description="How often to look for file fetch requests.")
    kill_grace_seconds: float = Field(
        5.0, description="How long a tool may overrun its period before its worker is killed."
    )
    # ---- sandboxed experiments (tool ``experiment``) ----
    results_sync_seconds: float = Field(
        30.0, description="How often files in experiments' /monroe/results go to the core.")
    deploy_ahead_count: int = Field(
        3, ge=1, description="Most experiments prepared (layers fetched, unpacked) ahead of "
                             "their start.")
    layers_reserve_bytes: int = Field(
        1024**3, ge=0, description="Free disk kept when fetching and unpacking layers; a "
                                   "deploy that would eat into it is delayed.")


    # ---- node platform: metadata bus, background ping, watchdog ----------
    bus_endpoint: str = Field(
        "", description="ZeroMQ endpoint the metadata bus publishes on; "
                        "ipc://<data_dir>/bus/metadata.ipc when empty (an ipc socket, so a "
                        "sandbox in its own network namespace reaches it through a bind mount).")
    sensor_seconds: float = Field(10.0, gt=0, description="Period of the sensor messages.")
    modems: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Per measurement interface, the modem's fields as "
                                          "the bus shows them (ICCID, Operator, IMSIMCCMNC, "
                                          "DeviceMode, ...), when no modem source gives them.")
    modem_seconds: float = Field(30.0, gt=0, description="Period of the modem UPDATE messages.")
    gpsd_address: str = Field("127.0.0.1:2947", description="gpsd's HOST:PORT; used if it "
                                                            "answers.")
    gps_nmea_file: Path | None = Field(
        None, description="NMEA file replayed as GPS positions when gpsd does not answer.")
    gps_seconds: float = Field(1.0, gt=0, description="Time between replayed NMEA fixes.")
    background_target: str | None = Field(
        None, description="Host pinged once a second on every measurement interface, all the "
                          "time (results flagged background); off when unset.")
    background_seconds: float = Field(1.0, gt=0, description="Background ping interval.")
    watchdog_seconds: float = Field(10.0, gt=0, description="How often the watchdog checks "
                                                            "the agent's services.")
    watchdog_failures: int = Field(
        3, ge=1, description="Failures of one check within watchdog_window_seconds that put "
                             "the node in maintenance.")
    watchdog_window_seconds: float = Field(3600.0, gt=0, description="See watchdog_failures.")
    min_free_disk_mb: float = Field(
        100.0, ge=0, description="Free space kept in reserve in the data directory: below it "
                                 "new results are refused (Disk.Full node event) until space "
                                 "is freed; 0 turns the guard off.")

    @model_validator(mode="after")
    def _default_bus_endpoint(self) -> AgentSettings:
        if not self.bus_endpoint:
            path = (self.data_dir / "bus" / "metadata.ipc").absolute()
            self.bus_endpoint = f"ipc://{path}"
        return self
    # --- production: TLS towards the core (issue 8); verification is always on ---
    ca_bundle: Path | None = Field(
        None, description="CA certificates (PEM) that sign the core's; the system's when unset.")
    client_cert: Path | None = Field(
        None, description="Client certificate (PEM) this node presents, if the core asks one.")
    client_key: Path | None = Field(None, description="Key of the client certificate (PEM).")
    # --- production: Prometheus metrics (issue 8) ---
    metrics_port: int | None = Field(
        None, ge=1, le=65535, description="Port of the agent's Prometheus /metrics listener; "
                                          "no listener when unset.")
    metrics_host: str = Field("127.0.0.1", description="Address the metrics listener binds: "
                                                       "loopback unless you open it.")
