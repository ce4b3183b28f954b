"""``webhook``: POST the alarm as JSON to a URL, retrying with backoff on failure."""

from __future__ import annotations

import time
from typing import Literal

import httpx
from pydantic import Field, HttpUrl

from vantagepoint.core.alarms.notifiers import Notice, NotifierConfig


class WebhookConfig(NotifierConfig):
    kind: Literal["webhook"]
    url: HttpUrl
    headers: dict[str, str] = Field(default_factory=dict)
    attempts: int = Field(4, ge=1, le=10)
    backoff: float = Field(0.5, ge=0, le=60, description="First retry delay, doubled each time.")
    timeout: float = Field(5.0, gt=0, le=60)


class WebhookNotifier:
    Config = WebhookConfig

    def __init__(self, name: str, config: WebhookConfig):
        self.name, self.config = name, config
        self._http = httpx.Client(timeout=config.timeout, headers=config.headers)

    def notify(self, notice: Notice) -> None:
        c, delay = self.config, self.config.backoff
        for attempt in range(1, c.attempts + 1):
            try:
                response = self._http.post(str(c.url), json=notice.payload())
                if response.is_success:
                    return
                failure: str = f"HTTP {response.status_code}"
                if 400 <= response.status_code < 500 and response.status_code not in (408, 429):
                    break  # the receiver refuses it; trying again will not help
            except httpx.HTTPError as exc:
                failure = f"{type(exc).__name__}: {exc}"
            if attempt < c.attempts:
                time.sleep(delay)
                delay *= 2
        raise RuntimeError(f"webhook {c.url} failed after {attempt} attempt(s): {failure}")

    def close(self) -> None:
        self._http.close()
