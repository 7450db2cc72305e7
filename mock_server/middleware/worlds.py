"""Which world a request belongs to, from the credentials an unmodified client already sends.

Read once per request, after the normaliser (so ``?access_token=`` is already an
``Authorization: Bearer`` header) and before Connexion routes, authenticates or calls a handler:

- ``Authorization: Basic``: a personal API token as the username, else email + password, else an
  OAuth client id (``/oauth/token``); ``Authorization: Bearer``: an access token;
- ``?flow_token=`` (a source's flow token, else a flow's API token); ``?client_id=``
  (``/oauth/authorize``); the flow API token in a Push API path (the first of a comma-separated
  list); a download token in ``/_mock/files/<token>``;
- only when none of those is there, on the three writes whose credential may travel in the body
  (``POST /messages`` and ``PUT /sources`` with ``flow_token``, ``POST /oauth/token`` with
  ``client_id``, ``code``, ``refresh_token`` or ``username`` and ``password``): the body (JSON,
  form, or multipart, whose file parts are skipped), read once and replayed.

Each place names the kinds of credential it may carry through ``kinds.CARRIERS`` (store/keys.py),
the table the security checkers follow too, so a credential finds its world the same way in
every world.

The world goes into ``scope["flowdock"]["world"]`` (the journal and the fault layer read it) and
into ``CURRENT`` (the handlers and the security checkers read it, runtime/worlds.py). A credential
that no world holds, or none at all, means the default world, which then answers 401 as a
one-world server did. While the default world is the only one, nothing is looked up; otherwise an
``Authorization`` header seen before is found in one lookup (``CredentialIndex.memo``), not decoded
and looked up kind by kind again.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any
from urllib.parse import parse_qsl, unquote

from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException
from starlette.requests import Request

from mock_server.middleware.exchange import Exchange, replay
from mock_server.middleware.normalize.bodies import read_body
from mock_server.middleware.types import Scope, scope_header
from mock_server.runtime.worlds import CURRENT, World, Worlds, kinds

PUSH_PREFIXES = ("/messages/chat/", "/messages/team_inbox/")
DOWNLOAD_PREFIX = "/_mock/files/"
CONTROL_PREFIX = "/_mock/"
BODY_CREDENTIALS = {
    ("POST", "/messages"): ((kinds.FLOW_TOKEN_PARAM, "flow_token"),),
    ("PUT", "/sources"): ((kinds.FLOW_TOKEN_PARAM, "flow_token"),),
    ("POST", "/oauth/token"): (
        (kinds.CLIENT_ID, "client_id"),
        (kinds.CODE_PARAM, "code"),
        (kinds.REFRESH_PARAM, "refresh_token"),
        (kinds.PASSWORD_GRANT, "username"),
    ),
}
"""The writes whose credential may be in the body: (carrier, field) to try, in order (a password
grant's ``username`` goes with the body's ``password``)."""


class WorldStage:
    """Sets the request's world (``CURRENT``, ``scope["flowdock"]["world"]``) from its credentials."""

    def __init__(self, settings: Any) -> None:
        self.worlds: Worlds = settings.worlds

    async def run(self, x: Exchange) -> None:
        worlds = self.worlds
        world: World | None = None
        if not worlds.only_default:
            worlds.sweep_if_due()
            scope = x.scope
            world = self._from_url_or_headers(scope)
            if world is None and (scope["method"], scope["path"]) in BODY_CREDENTIALS:
                world, x.receive = await self._from_body(scope, x.receive)
        if world is None:
            world = worlds.default
        x.state["world"] = world
        x.world_token = CURRENT.set(world)

    @staticmethod
    def done(x: Exchange) -> None:
        if x.world_token is not None:
            CURRENT.reset(x.world_token)

    def _from_url_or_headers(self, scope: Scope) -> World | None:
        find = self.worlds.find_carried
        path: str = scope["path"]
        if path.startswith(CONTROL_PREFIX):
            # The control API names its world in the path; only a download URL carries a credential.
            return (
                find(kinds.DOWNLOAD_PATH, path[len(DOWNLOAD_PREFIX) :])
                if path.startswith(DOWNLOAD_PREFIX)
                else None
            )
        for name, value in scope["headers"]:
            if name == b"authorization":
                world = self._from_authorization(value)
                if world is not None:
                    return world
                break
        for prefix in PUSH_PREFIXES:
            if path.startswith(prefix):
                first = unquote(path[len(prefix) :]).split(",")[0].strip()
                return find(kinds.PUSH_PATH, first)
        query: bytes = scope.get("query_string") or b""
        if b"flow_token=" in query or b"client_id=" in query:
            for name, value in parse_qsl(query.decode("latin-1")):
                if name == "flow_token":
                    return find(kinds.FLOW_TOKEN_PARAM, value)
                if name == "client_id":
                    return find(kinds.CLIENT_ID, value)
        return None

    def _from_authorization(self, header: bytes) -> World | None:
        """The world of an ``Authorization`` header: remembered per header (``CredentialIndex.memo``),
        so most requests find it by one lookup."""
        worlds = self.worlds
        index = worlds.index
        owner = index.memo.get(header, _UNSEEN)
        if owner is _UNSEEN:
            version = index.version
            carried = _carried_by(header)
            owner = None if carried is None else worlds.owner_carried(*carried)
            index.remember(header, owner, version)
        if owner is None:
            return None
        world = worlds.live(owner)
        if world is None:  # idle too long and removed with its credentials: whoever holds the next kind
            carried = _carried_by(header)
            return None if carried is None else worlds.find_carried(*carried)
        return world

    async def _from_body(self, scope: Scope, receive: Any) -> tuple[World | None, Any]:
        raw, _ = await read_body(receive)
        receive = replay(raw, receive)
        fields = await _fields(raw, scope_header(scope, b"content-type") or "")
        password = fields.get("password")
        for carrier, name in BODY_CREDENTIALS[(scope["method"], scope["path"])]:
            value = fields.get(name)
            if isinstance(value, str) and value:
                world = self.worlds.find_carried(
                    carrier, value, password if isinstance(password, str) else ""
                )
                if world is not None:
                    return world, receive
        return None, receive


_UNSEEN: Any = object()


def _carried_by(header: bytes) -> tuple[str, str, str] | None:
    """``(carrier, value, password)`` of an ``Authorization`` header (None: neither Basic nor
    Bearer, or Basic that is not base64 of UTF-8)."""
    scheme, _, credentials = header.decode("latin-1").strip().partition(" ")
    scheme = scheme.lower()
    credentials = credentials.strip()
    if scheme == "bearer":
        return kinds.BEARER, credentials, ""
    if scheme != "basic":
        return None
    try:
        decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    username, _, password = decoded.partition(":")
    return kinds.BASIC, username, password


async def _fields(raw: bytes, content_type: str) -> dict[str, Any]:
    """The top-level fields of a JSON object, form or multipart body (empty when it is none of
    them); a multipart body's file parts are left out."""
    if content_type.lower().startswith("multipart/form-data"):
        return await _multipart_fields(raw, content_type)
    text = raw.decode("utf-8", "replace").strip()
    if text.startswith("{"):
        try:
            doc = json.loads(text)
        except ValueError:
            return {}
        return doc if isinstance(doc, dict) else {}
    return dict(parse_qsl(text))


async def _multipart_fields(raw: bytes, content_type: str) -> dict[str, Any]:
    scope = {"type": "http", "method": "POST", "headers": [(b"content-type", content_type.encode("latin-1"))]}
    try:
        async with Request(scope, replay(raw, None)).form() as form:
            return {k: v for k, v in form.multi_items() if not isinstance(v, UploadFile)}
    except MultiPartException:
        return {}  # malformed: validation reports it
