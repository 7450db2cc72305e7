"""What the history tests share: reading a flow's whole history as a migration script does."""

from __future__ import annotations

from typing import Any


def every_page_of(client: Any, path: str, **params: Any) -> list[dict[str, Any]]:
    """Pages of 100 of ``/flows/<path>/messages`` since id 0, ascending, until an empty page."""
    out: list[dict[str, Any]] = []
    since = 0
    while True:
        r = client.get(
            f"/flows/{path}/messages", params={"limit": 100, "since_id": since, "sort": "asc", **params}
        )
        assert r.status_code == 200, r.text
        page = r.json()
        if not page:
            return out
        out.extend(page)
        since = page[-1]["id"]
