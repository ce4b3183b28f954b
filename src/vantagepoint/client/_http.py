"""The HTTP layer of the client: where the core is, the token, and error mapping."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from vantagepoint.errors import ERRORS_BY_CODE, Unauthorized, VantageError, error_from_dict
from vantagepoint.wire import API_PREFIX

DEFAULT_URL = "http://127.0.0.1:8080"
DEFAULT_DATA_DIR = Path("vantage-data")
_CODE_BY_STATUS = {cls.status: code for code, cls in reversed(ERRORS_BY_CODE.items())}
RATE_LIMIT_RETRIES = 3  # 429s waited out (per Retry-After) before the error is raised
MAX_RETRY_AFTER = 60.0


def retry_after(response: httpx.Response) -> float | None:
    """Seconds a 429 (or 503) asks us to wait, from its Retry-After header."""
    value = response.headers.get("retry-after")
    try:
        return min(MAX_RETRY_AFTER, max(0.0, float(value))) if value is not None else None
    except ValueError:
        return None


def _read(path: Path) -> str | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return text or None


def resolve_url(url: str | None, data_dir: Path) -> str:
    """Explicit URL, else $VANTAGE_URL, else DIR/url of a local `vantage up`, else the default."""
    found = url or os.environ.get("VANTAGE_URL") or _read(data_dir / "url") or DEFAULT_URL
    return found.rstrip("/").removesuffix(API_PREFIX)


def resolve_token(token: str | None, data_dir: Path) -> str | None:
    """Explicit token, else $VANTAGE_TOKEN, else DIR/admin-token of a local `vantage up`."""
    return token or os.environ.get("VANTAGE_TOKEN") or _read(data_dir / "admin-token")


def missing_token(data_dir: Path) -> Unauthorized:
    return Unauthorized(
        "no API token: pass token= (CLI: --token), set VANTAGE_TOKEN, or start a local "
        f"core with `vantage up`, which writes the admin token to {data_dir / 'admin-token'}; "
        "an admin can issue more with `vantage tokens create`"
    )


def error_from_response(response: httpx.Response) -> VantageError:
    """The VantageError a non-2xx response stands for, with the server's problems."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not (isinstance(body, dict) and "error" in body):
        body = _foreign_body(response, body)
    return error_from_dict(response.status_code, body)


def _foreign_body(response: httpx.Response, body: Any) -> dict[str, Any]:
    """Shape a body not written by our error handler (a proxy, a framework default)."""
    detail = body.get("detail") if isinstance(body, dict) else None
    problems = []
    if isinstance(detail, list):
        problems = [_framework_problem(d) for d in detail if isinstance(d, dict)]
        detail = "the request is not valid"
    message = str(detail or response.reason_phrase or f"HTTP {response.status_code}")
    code = _CODE_BY_STATUS.get(response.status_code, "error")
    return {"error": code, "message": message, "problems": problems}


def _framework_problem(detail: dict[str, Any]) -> dict[str, str]:
    parts = [str(p).replace("~", "~0").replace("/", "~1") for p in detail.get("loc", [])]
    return {"pointer": "".join("/" + p for p in parts), "message": str(detail.get("msg", ""))}


def clean_params(params: dict[str, Any] | None) -> dict[str, Any]:
    """Query parameters without the unset ones."""
    return {k: v for k, v in (params or {}).items() if v is not None}


class Http:
    """An httpx client bound to the core's API prefix and a bearer token."""

    def __init__(self, url: str, token: str | None, data_dir: Path, *,
                 transport: httpx.BaseTransport | None, timeout: float,
                 rate_limit_retries: int = RATE_LIMIT_RETRIES, sleep: Callable = time.sleep):
        self.url = url
        self.data_dir = data_dir
        self._token = token
        self._retries, self._sleep = rate_limit_retries, sleep
        self._client = httpx.Client(base_url=url + API_PREFIX, transport=transport,
                                    timeout=timeout)

    def request(self, method: str, path: str, *, json: Any = None,
                params: dict[str, Any] | None = None, auth: bool = True) -> Any:
        """Send one request; return the decoded JSON body or raise the matching error."""
        headers = {"Authorization": f"Bearer {self._need_token()}"} if auth else {}
        response = self._patiently(lambda: self._client.request(
            method, path, json=json, params=clean_params(params), headers=headers))
        if response.is_error:
            raise error_from_response(response)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    def download(self, path: str) -> bytes:
        """The raw body of a GET (files), or the matching error."""
        headers = {"Authorization": f"Bearer {self._need_token()}"}
        response = self._patiently(lambda: self._client.get(path, headers=headers))
        if response.is_error:
            raise error_from_response(response)
        return response.content

    def upload(self, path: str, content, params: dict[str, Any] | None = None) -> Any:
        """PUT raw bytes (or an iterator of chunks); the decoded JSON answer."""
        response = self._client.put(path, content=content, params=clean_params(params),
                                    headers={"Authorization": f"Bearer {self._need_token()}"},
                                    timeout=httpx.Timeout(600.0, connect=10.0))
        if response.is_error:
            raise error_from_response(response)
        return response.json()


    def stream_to(self, path: str, sink, params: dict[str, Any] | None = None) -> int:
        """Write the body of a GET into the binary file ``sink`` as it arrives; bytes."""
        headers = {"Authorization": f"Bearer {self._need_token()}"}
        with self._client.stream("GET", path, params=clean_params(params),
                                 headers=headers) as response:
            if response.is_error:
                response.read()
                raise error_from_response(response)
            written = 0
            for chunk in response.iter_bytes():
                sink.write(chunk)
                written += len(chunk)
            return written

    def _patiently(self, send: Callable[[], httpx.Response]) -> httpx.Response:
        """Send; on 429 wait as long as Retry-After says and send again, a few times."""
        response = send()
        for _ in range(self._retries):
            wait = retry_after(response) if response.status_code == 429 else None
            if wait is None:
                break
            self._sleep(wait)
            response = send()
        return response

    def _need_token(self) -> str:
        if not self._token:
            raise missing_token(self.data_dir)
        return self._token

    def close(self) -> None:
        self._client.close()
