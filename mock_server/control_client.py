"""The control API of a running mock (``/_mock``) over HTTP, with the standard library only: the
client of the pytest plugin and of ``flowdock-mock converse --url``."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

HTTP_TIMEOUT = 30.0


class ControlAPI:
    """The control API of a running mock, over HTTP (the standard library only)."""

    def __init__(self, base_url: str, admin_token: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.admin_token = admin_token

    def call(self, method: str, path: str, body: Any = None) -> Any:
        status, answer, text = self.exchange(method, path, body)
        if status >= 400:
            raise RuntimeError(f"flowdock-mock: {method} /_mock{path} answered {status}: {text}")
        return answer

    def exchange(
        self, method: str, path: str, body: Any = None, timeout: float = HTTP_TIMEOUT
    ) -> tuple[int, Any, str]:
        """``(status, parsed JSON body or None, raw text)``; an error status is an answer too."""
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if self.admin_token:
            headers["Authorization"] = f"Bearer {self.admin_token}"
        request = urllib.request.Request(
            f"{self.base_url}/_mock{path}", data=data, method=method, headers=headers
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        text = raw.decode("utf-8", "replace")
        try:
            answer = json.loads(raw) if raw else None
        except ValueError:
            answer = None
        return status, answer, text
