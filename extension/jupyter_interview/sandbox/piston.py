"""A typed client for Piston API v2, sync (``PistonClient``) and async (``AsyncPistonClient``).

Both share one core that builds requests and reads replies (``pistonapi.py``); httpx
does the transport. Errors are exceptions that carry Piston's own message:
``PistonRejected`` (4xx: unknown language, bad version, over a limit), ``PistonTimeout``,
``PistonUnavailable`` (unreachable, 5xx).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from .pistonapi import (
    PistonError,
    PistonTimeout,
    PistonUnavailable,
    Result,
    Runtime,
    error_for,
    execute_body,
    parse_runtimes,
)

__all__ = [
    "AsyncPistonClient",
    "PistonClient",
    "PistonError",
    "Result",
    "Runtime",
]


@dataclass
class _Core:
    base_url: str
    authorization: str | None = None
    runtimes_ttl: float = 300.0
    _runtimes: list[Runtime] = field(default_factory=list)
    _fetched_at: float = float("-inf")

    def headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if self.authorization:
            headers["Authorization"] = self.authorization
        return headers

    def url(self, path: str) -> str:
        return self.base_url.rstrip("/") + path

    def cached_runtimes(self) -> list[Runtime] | None:
        fresh = time.monotonic() - self._fetched_at < self.runtimes_ttl
        return self._runtimes if fresh else None

    def keep_runtimes(self, runtimes: list[Runtime]) -> list[Runtime]:
        self._runtimes, self._fetched_at = runtimes, time.monotonic()
        return runtimes

    @staticmethod
    def read(response: httpx.Response) -> Any:
        try:
            data = response.json() if response.content else None
        except ValueError:
            data = None
        if response.status_code != 200:
            raise error_for(response.status_code, data)
        return data

    def transport_error(self, error: httpx.HTTPError) -> PistonError:
        if isinstance(error, httpx.TimeoutException):
            return PistonTimeout(f"Piston at {self.base_url} did not answer in time")
        return PistonUnavailable(f"Piston at {self.base_url} is unreachable: {error}")


class PistonClient:
    """Blocking client; ``timeout`` is how long to wait for Piston, in seconds."""

    def __init__(
        self,
        base_url: str,
        *,
        authorization: str | None = None,
        timeout: float = 30.0,
        runtimes_ttl: float = 300.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._core = _Core(base_url, authorization, runtimes_ttl)
        self._http = httpx.Client(timeout=timeout, transport=transport)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> PistonClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _request(self, method: str, path: str, body: dict | None = None) -> Any:
        try:
            response = self._http.request(
                method, self._core.url(path), json=body, headers=self._core.headers()
            )
        except httpx.HTTPError as e:
            raise self._core.transport_error(e) from e
        return self._core.read(response)

    def runtimes(self) -> list[Runtime]:
        """The languages Piston offers (cached for ``runtimes_ttl`` seconds)."""
        cached = self._core.cached_runtimes()
        if cached is not None:
            return cached
        return self._core.keep_runtimes(parse_runtimes(self._request("GET", "/api/v2/runtimes")))

    def execute(self, language: str, code: str, **options: Any) -> Result:
        """Run ``code``; ``options`` are those of ``pistonapi.execute_body``."""
        return Result.parse(
            self._request("POST", "/api/v2/execute", execute_body(language, code, **options))
        )


class AsyncPistonClient:
    """The same client for asyncio code (the interview server)."""

    def __init__(
        self,
        base_url: str,
        *,
        authorization: str | None = None,
        timeout: float = 30.0,
        runtimes_ttl: float = 300.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._core = _Core(base_url, authorization, runtimes_ttl)
        self._http = httpx.AsyncClient(timeout=timeout, transport=transport)

    @property
    def base_url(self) -> str:
        return self._core.base_url

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _request(self, method: str, path: str, body: dict | None = None) -> Any:
        try:
            response = await self._http.request(
                method, self._core.url(path), json=body, headers=self._core.headers()
            )
        except httpx.HTTPError as e:
            raise self._core.transport_error(e) from e
        return self._core.read(response)

    async def runtimes(self) -> list[Runtime]:
        cached = self._core.cached_runtimes()
        if cached is not None:
            return cached
        data = await self._request("GET", "/api/v2/runtimes")
        return self._core.keep_runtimes(parse_runtimes(data))

    async def execute(self, language: str, code: str, **options: Any) -> Result:
        body = execute_body(language, code, **options)
        return Result.parse(await self._request("POST", "/api/v2/execute", body))
