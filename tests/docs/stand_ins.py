"""What the documentation's pytest examples leave to the reader, so that the examples run as written.

The docs test (tests/docs/test_examples.py) copies this module next to each pytest example it runs
and starts the example with ``from stand_ins import *``. Keep each stand-in the smallest thing
that does what the example's prose says the reader's own code does.
"""

from __future__ import annotations

import requests

__all__ = ["MyBot"]


class MyBot:
    """The reader's bot (docs/pytest.md, docs/worlds.md): announces in ``acme/main`` with its token."""

    def __init__(self, api_url: str, token: str) -> None:
        self.api_url = api_url
        self.token = token

    def announce(self, text: str) -> None:
        answer = requests.post(
            f"{self.api_url}/flows/acme/main/messages",
            auth=(self.token, ""),
            json={"event": "message", "content": text},
            timeout=10,
        )
        answer.raise_for_status()
