"""What tests share besides fixtures: an API client for one key, the error shape, and a free
loopback port for a test's own server."""

import socket
from typing import Any

from rest_framework.test import APIClient


class Api:
    """An API client for one key: `api.get(path)` with paths relative to /api/v2."""

    def __init__(self, key: str | None) -> None:
        self.client = APIClient()
        self.key = key

    def _headers(self, key: str | None) -> dict[str, str]:
        return {"X-API-KEY": key} if key is not None else {}

    def get(self, path: str, params: dict[str, Any] | None = None, **extra: Any) -> Any:
        headers = self._headers(extra.pop("key", self.key))
        return self.client.get(f"/api/v2{path}", params or {}, headers=headers, **extra)

    def post(self, path: str, body: Any = None, **extra: Any) -> Any:
        headers = self._headers(extra.pop("key", self.key))
        extra.setdefault("format", "json")
        return self.client.post(f"/api/v2{path}", body, headers=headers, **extra)

    def patch(self, path: str, body: Any = None, **extra: Any) -> Any:
        headers = self._headers(extra.pop("key", self.key))
        extra.setdefault("format", "json")
        return self.client.patch(f"/api/v2{path}", body, headers=headers, **extra)

    def delete(self, path: str, **extra: Any) -> Any:
        headers = self._headers(extra.pop("key", self.key))
        return self.client.delete(f"/api/v2{path}", headers=headers, **extra)


def detail(response: Any) -> str:
    """The `detail` of an error response, after checking the error shape."""
    body = response.json()
    assert set(body) == {"detail"}, body
    assert isinstance(body["detail"], str)
    return body["detail"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
