"""The credentials a store hands out, reported to whoever routes requests to their world.

Every credential a Flowdock client holds names exactly one world: a personal API token, an email
with its password, an OAuth client id, access and refresh tokens, authorization codes, a source's
flow token, a flow's API token (the Push API's path) and a file download token. The store knows
nothing of worlds; it reports what it holds and what it mints to its ``Keys`` object, which a
registry of worlds replaces with one that indexes them (``runtime/worlds.py``). A store on its own
keeps the no-op ``Keys`` below, so it behaves exactly as before.

``claim`` answering False means "another world holds this value": the store then draws again, so
two worlds never share a credential, whatever their seeds.

A server run as one shard of several (``--shard NAME``, docs/scaling-worlds.md) gives the worlds
it creates a ``Keys`` whose ``prefix`` is the shard's name and a dot: every credential those
worlds mint starts with it, so a router in front of the shards places a request by the prefix
alone (``shard_problem`` says which names are allowed).
"""

from __future__ import annotations

import re
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

# --- where a client carries each credential: the one table the world router and the checkers read ---
BASIC = "basic"
"""``Authorization: Basic user:password``: a personal API token (any password), an email and its
password, or an OAuth client id authenticating to ``/oauth/token``."""
BEARER = "bearer"
"""``Authorization: Bearer`` (``?access_token=`` becomes this header before routing)."""
FLOW_TOKEN_PARAM = "flow_token"
"""``flow_token`` in the query, or a field of the body (JSON, form, or a multipart part): a
source's flow token, or (compatible mode, rule ``flow-api-token``) a flow's API token."""
PUSH_PATH = "push_path"
"""The Push API's path: ``/messages/chat/<token>``, ``/messages/team_inbox/<token>``."""
CLIENT_ID = "client_id"
"""``client_id`` in ``/oauth/authorize``'s query or ``/oauth/token``'s body."""
CODE_PARAM = "code"
"""``code`` in ``/oauth/token``'s body (``grant_type=authorization_code``)."""
REFRESH_PARAM = "refresh_token"
"""``refresh_token`` in ``/oauth/token``'s body."""
PASSWORD_GRANT = "password_grant"
"""``username`` and ``password`` in ``/oauth/token``'s body (``grant_type=password``)."""
DOWNLOAD_PATH = "download_path"
"""``/_mock/files/<token>``, where ``/files/...`` redirects."""

CARRIERS: dict[str, tuple[str, ...]] = {
    BASIC: (API_TOKEN, LOGIN, CLIENT),
    BEARER: (ACCESS,),
    FLOW_TOKEN_PARAM: (FLOW_TOKEN, PUSH),
    PUSH_PATH: (PUSH,),
    CLIENT_ID: (CLIENT,),
    CODE_PARAM: (CODE,),
    REFRESH_PARAM: (REFRESH,),
    PASSWORD_GRANT: (LOGIN,),
    DOWNLOAD_PATH: (DOWNLOAD,),
}
"""Where a credential travels -> the kinds it may be, in the order they are tried. The world
router (``middleware/worlds.py``) finds a request's world with it and the security checkers
(``binding/security.py``) find its holder in that world with it, so a credential that works in
one world works the same in every other. Lookups are by the exact value (a shard's prefix is part
of it), never by a part of it."""


def candidates(carrier: str, value: str, password: str = "") -> list[Key]:
    """The keys ``value`` (with ``password``, for an email) may be when carried by ``carrier``, in order."""
    return [(kind, login_key(value, password) if kind == LOGIN else value) for kind in CARRIERS[carrier]]


SHARD_SEPARATOR = "."
"""Between a shard's name and the rest of a credential: no shard name contains it."""
SHARD_MAX = 24
"""The longest shard name: a prefixed flow token (32 hex) stays within the contract's 64."""
_SHARD_NAME = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")


def shard_problem(name: str) -> str | None:
    """Why ``name`` cannot name a shard, None when it can: lower-case letters, digits and inner
    hyphens (a DNS label, as a StatefulSet's pod names are), at most ``SHARD_MAX`` characters.
    Such a name is safe unquoted in a URL path or query, an HTTP Basic username, an email's
    local part and an HAProxy configuration, and no shard's prefix is the start of another's."""
    if not name or len(name) > SHARD_MAX or not _SHARD_NAME.fullmatch(name):
        return (
            f"expected 1 to {SHARD_MAX} lower-case letters, digits and inner hyphens "
            "(a DNS label such as s1 or flowdock-mock-0)"
        )
    return None


def shard_prefix(shard: str | None) -> str:
    """What every credential minted on ``shard`` starts with ('' for no shard)."""
    return f"{shard}{SHARD_SEPARATOR}" if shard else ""


def shard_of(value: str) -> str | None:
    """The shard a credential or world id names by its prefix (None: none)."""
    name, dot, _ = value.partition(SHARD_SEPARATOR)
    return name if dot and shard_problem(name) is None else None


def login_key(email: str, password: str) -> str:
    """The LOGIN value of an email and password: the email is case-insensitive, the password not."""
    return f"{email.lower()}\n{password}"


class Keys:
    """What a store reports its credentials to. This one accepts everything and keeps nothing."""

    prefix = ""
    """What every credential the store mints starts with: a shard's ``shard_prefix``, or ''."""

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
