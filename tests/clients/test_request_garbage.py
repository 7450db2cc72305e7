"""A served request leaves no reference cycles: it is freed when it ends, not by the collector.

Every object of a request the server holds (uvicorn's request cycle and its transport wrapper, the
scope, the pipeline's exchange, the request view, the security context) is freed by reference
counting the moment the response ends. A cycle among them makes each request garbage only the
cyclic collector can free: with several per request, the collector ran every 17 requests and took
about a tenth of a GET /flows (docs/performance-report.md). The test serves requests of each kind
the bench loads (reads, a write, a refused one) on a real socket and asks the collector what it
found among the server's request objects: nothing.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
import requests

from tests.clients.conftest import LiveServer

REQUEST_TYPES = {
    "RequestResponseCycle",  # uvicorn's per-request object (httptools and h11)
    "OneWrite",  # mock_server/serving.py
    "Exchange",  # mock_server/middleware/exchange.py
    "RequestView",  # mock_server/binding/invoke.py
    "ValidatorView",
    "LegacyAllowance",  # mock_server/binding/security.py
    "_Capture",  # mock_server/middleware/journal.py
}


@pytest.fixture
def unreachable() -> Iterator[list[object]]:
    """What the collector finds unreachable while the test runs (kept, to be inspected)."""
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        yield gc.garbage
    finally:
        gc.set_debug(0)
        gc.garbage.clear()


def test_served_requests_leave_no_reference_cycles(live: LiveServer, unreachable: list[object]) -> None:
    base = live.base_url
    with requests.Session() as http:
        http.auth = (live.token(1), "")
        for _ in range(5):
            assert http.get(f"{base}/flows", timeout=10).status_code == 200
            assert http.get(f"{base}/flows/acme/main/messages?limit=30", timeout=10).status_code == 200
            posted = http.post(
                f"{base}/flows/acme/main/messages",
                json={"event": "message", "content": "freed when it ends"},
                timeout=10,
            )
            assert posted.status_code == 201
            assert http.get(f"{base}/flows/acme/main/messages/{posted.json()['id']}", timeout=10).ok
            assert http.get(f"{base}/flows/acme/nowhere", timeout=10).status_code == 404
    gc.collect()
    found = sorted({type(o).__name__ for o in unreachable} & REQUEST_TYPES)
    assert found == [], f"request objects left to the cyclic collector: {found}"
