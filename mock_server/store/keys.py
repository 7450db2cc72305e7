"""The credentials a store hands out, reported to whoever routes requests to their world.

Every credential a Flowdock client holds names exactly one world: a personal API token, an email
with its password, an OAuth client id, access and refresh tokens, authorization codes, a source's
flow token, a flow's API token (the Push API's path) and a file download token. The store knows
nothing of worlds; it reports what it holds and what it mints to its ``Keys`` object, which a
registry of worlds replaces with one that indexes them (``runtime/worlds.py``). A store on its own
keeps the no-op ``Keys`` below, so it behaves exactly as before.

``claim`` answering False means "another world holds this value": the store then draws again, so
two worlds never share a credential, whatever their seeds.
"""

from __future__ import annotations

from collections.abc import Iterable

API_TOKEN = "token"
"""A user's personal API token (HTTP Basic username, any password)."""
LOGIN = "login"
"""A user's email (lower case) and password, joined by ``login_key``."""
CLIENT = "client"
"""An OAuth application's client id."""
ACCESS = "access"
"""An OAuth access token (``Authorization: Bearer``, ``?access_token=``)."""
REFRESH = "refresh"
"""An OAuth refresh token (``grant_type=refresh_token``)."""
CODE = "code"
"""An OAuth authorization code (``grant_type=authorization_code``)."""
FLOW_TOKEN = "flow_token"
"""A source's flow token (query or body ``flow_token``)."""
PUSH = "push"
"""A flow's API token, the credential of the Push API's path."""
DOWNLOAD = "download"
"""A file download token (``/_mock/files/<token>``, where /files/... redirects)."""

KINDS = (API_TOKEN, LOGIN, CLIENT, ACCESS, REFRESH, CODE, FLOW_TOKEN, PUSH, DOWNLOAD)

Key = tuple[str, str]
"""``(kind, value)``."""


def login_key(email: str, password: str) -> str:
    """The LOGIN value of an email and password: the email is case-insensitive, the password not."""
    return f"{email.lower()}\n{password}"


class Keys:
    """What a store reports its credentials to. This one accepts everything and keeps nothing."""

    def claim(self, kind: str, value: str) -> bool:
        """Record ``value`` as this store's; False when another world already holds it."""
        return True

    def release(self, kind: str, value: str) -> None:
        """``value`` is no longer a credential of this store."""

    def replace(self, keys: Iterable[Key]) -> None:
        """The store's whole set of credentials after a load: exactly ``keys``."""

    def conflicts(self, keys: Iterable[Key]) -> list[Key]:
        """Those of ``keys`` that another world holds (a document to load must have none)."""
        return []
