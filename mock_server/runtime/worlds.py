"""Worlds: isolated Flowdock worlds on one server, each chosen by the credentials a client sends.

One server holds a default world (the one it started with, today's data and credentials) and any
number of worlds created through the control API. Every credential of every world (store/keys.py
lists the kinds) is in one index, credential -> world; a request is routed to the world its
credential names (middleware/worlds.py, through ``find_carried`` and the table of where each kind
travels, ``kinds.CARRIERS``, which the security checkers follow too) and the handlers, the security checkers, the journal and
the fault layer all read that world through ``CURRENT``. A request whose credential is in no
world goes to the default world, which answers it exactly as a one-world server did.

A new world is a copy of a template document (the default world as the server started, a
generated world for a seed and sizes, or a posted world document) with every credential replaced
by a fresh random one, claimed in the index before the world exists, so two worlds never share a
credential, even when created from the same seed or at the same moment. The copy shares every
unchanged part of the template (messages, threads, files) until the store loads its own.

A server that is one shard of several (``shard``, ``--shard NAME``) prefixes the id of every
world it creates, and every credential such a world holds or mints, with the shard's name and a
dot (store/keys.py), so a router in front of the shards places any request by the prefix alone
(docs/scaling-worlds.md). Passwords stay as they are; users' emails get the prefix too, so an
email and its password route like a token. The default world keeps its credentials.

Worlds idle longer than ``Limits.idle_timeout_s`` are removed (checked when a request would reach
one and when worlds are created or listed); at most ``Limits.max_worlds`` exist besides the
default one (429 beyond). Removing a world drops every reference the server holds to it.
"""

from __future__ import annotations

import secrets
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from dataclasses import asdict, dataclass
from typing import Any

import orjson

from mock_server import errors
from mock_server.runtime.core import Runtime
from mock_server.runtime.journal import Journal
from mock_server.store import Store
from mock_server.store import keys as kinds  # the kinds of credential (middleware/worlds.py too)
from mock_server.store.keys import Key, Keys, shard_prefix, shard_problem
from mock_server.store.timefmt import iso_ms
from mock_server.world.documents import world_problems
from mock_server.world.generator import Sizes
from mock_server.world.loading import DOCUMENT_BYTES_FACTOR, MAX_DOCUMENT_BYTES, generated_document_bytes

__all__ = ["CONTROL_CALLER", "CURRENT", "DEFAULT_ID", "Limits", "World", "Worlds", "current_store", "kinds"]

DEFAULT_ID = "default"

CURRENT: ContextVar[World] = ContextVar("flowdock_mock_world")
"""The world of the request being served (set by middleware/worlds.py for every request)."""

CONTROL_CALLER: ContextVar[str | None] = ContextVar("flowdock_mock_control_caller", default=None)
"""The world a control request is limited to, when it came with that world's control token
(middleware/admin_gate.py sets it); None for the admin token or a server without one."""
CONTROL_TOKEN_BYTES = 24
"""Random bytes in a world's control token (32 URL-safe characters)."""


def current_store() -> Store:
    """The store of the request's world: what handlers and security checkers are bound to."""
    return CURRENT.get().store


@dataclass(frozen=True, slots=True)
class Limits:
    """How many worlds one server holds and how long an unused one lives."""

    max_worlds: int = 1000
    """Worlds besides the default one; creating one more answers 429."""
    idle_timeout_s: float = 3600.0
    """A world no request reached for this long is removed; 0 keeps worlds until deleted."""
    world_memory_mb: int = 512
    """The memory one world may take when it is built (``POST /_mock/worlds``, ``PUT .../state``),
    estimated from its document (world/loading.py ``DOCUMENT_BYTES_FACTOR``); more is a 4xx."""

    @property
    def document_bytes(self) -> int:
        """The largest world document a world may be built from, by ``world_memory_mb``."""
        return min(MAX_DOCUMENT_BYTES, self.world_memory_mb * 1024 * 1024 // DOCUMENT_BYTES_FACTOR)


class World:
    """One isolated world: its store and its runtime (journal, coverage, faults)."""

    __slots__ = (
        "__weakref__",
        "control_token",
        "created_at",
        "id",
        "keys",
        "last_used",
        "origin",
        "runtime",
        "store",
    )

    def __init__(self, world_id: str, origin: dict[str, Any], created_at: float, now: float) -> None:
        self.id = world_id
        self.control_token: str | None = None
        """Opens this world's /_mock routes and nothing else (the default world has none: only
        the admin token, or no token at all, opens it)."""
        self.origin = origin
        self.created_at = created_at
        self.last_used = now
        self.store: Store
        self.runtime: Runtime
        self.keys: WorldKeys

    @property
    def journal(self) -> Any:
        return self.runtime.journal

    @property
    def faults(self) -> Any:
        return self.runtime.faults


class CredentialIndex:
    """``(kind, value)`` -> the world holding that credential; one lock for every change.

    With it, the world router's memo (``memo``): an ``Authorization`` header as a client sent it
    -> the world holding the first credential it may carry (None: no world holds any), so a client
    sending the same header on every request has its world found by one lookup, not by decoding
    the header and looking up each kind it may be. Every change of an owner empties it, under the
    lock, and an answer computed before a change is not kept (``version``)."""

    MEMO_MAX = 512
    """Headers remembered at most; the memo is emptied when full (clients send few distinct ones)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.owner: dict[Key, World] = {}
        self.memo: dict[bytes, World | None] = {}
        self.version = 0
        """Bumped by every change of an owner (``changed``)."""

    def get(self, kind: str, value: str) -> World | None:
        return self.owner.get((kind, value))

    def changed(self) -> None:
        """An owner was added or removed (the caller holds ``lock``): the memo is out of date."""
        self.version += 1
        self.memo.clear()

    def remember(self, header: bytes, world: World | None, version: int) -> None:
        """Keep what ``header`` routed to, unless an owner changed since ``version`` was read."""
        with self.lock:
            if version != self.version:
                return
            if len(self.memo) >= self.MEMO_MAX:
                self.memo.clear()
            self.memo[header] = world

    def __len__(self) -> int:
        return len(self.owner)


class WorldKeys(Keys):
    """A world's side of the index: claims go to the shared index, and it remembers its own."""

    def __init__(self, index: CredentialIndex, world: World, prefix: str = "") -> None:
        self.index = index
        self._world: World | None = world
        self._weak = weakref.ref(world)
        """Once the world is removed (``forget_world``), only this: the world holds its keys, and a
        removed world must go without the cyclic collector."""
        self.prefix = prefix
        self.held: set[Key] = set()

    @property
    def world(self) -> World:
        world = self._world or self._weak()
        # Whoever uses a removed world's keys holds the world (a request: ``CURRENT``).
        assert world is not None, "the keys of a world that is gone"
        return world

    def forget_world(self) -> None:
        """The world is removed: refer to it weakly from now on (it is freed once unused)."""
        self._world = None

    def claim(self, kind: str, value: str) -> bool:
        key = (kind, value)
        with self.index.lock:
            owner = self.index.owner.get(key)
            if owner is not None and owner is not self.world:
                return False
            if owner is None:
                self.index.owner[key] = self.world
                self.index.changed()
            self.held.add(key)
            return True

    def release(self, kind: str, value: str) -> None:
        key = (kind, value)
        with self.index.lock:
            if self.index.owner.get(key) is self.world:
                del self.index.owner[key]
                self.index.changed()
            self.held.discard(key)

    def replace(self, keys: Iterable[Key]) -> None:
        wanted = set(keys)
        with self.index.lock:
            owner = self.index.owner
            for key in self.held - wanted:
                if owner.get(key) is self.world:
                    del owner[key]
            held = set()
            for key in wanted:
                if owner.setdefault(key, self.world) is self.world:
                    held.add(key)
            self.held = held
            self.index.changed()

    def conflicts(self, keys: Iterable[Key]) -> list[Key]:
        owner = self.index.owner
        return sorted(key for key in keys if owner.get(key, self.world) is not self.world)

    def drop(self) -> None:
        """The world goes: none of its credentials routes anywhere any more."""
        self.replace(())


# --- fresh credentials --------------------------------------------------------------------------
def _hex(nbytes: int = 16) -> str:
    return secrets.token_hex(nbytes)


def _urlsafe(length: int) -> str:
    return secrets.token_urlsafe(length)[:length]


def _fresh(keys: WorldKeys, kind: str, make: Callable[[], str], login_of: str | None = None) -> str:
    """A new random value no world holds, now claimed by this one (for LOGIN, the password of
    the email ``login_of``); after the keys' shard prefix, except for a password."""
    prefix = keys.prefix if login_of is None else ""
    while True:
        value = prefix + make()
        if keys.claim(kind, value if login_of is None else kinds.login_key(login_of, value)):
            return value


def with_fresh_credentials(doc: dict[str, Any], keys: WorldKeys) -> dict[str, Any]:
    """``doc`` with every credential replaced by a fresh one claimed for ``keys``' world.

    Only the objects on a credential's path are new; every other part is shared with ``doc``.
    Readable names stay readable: an OAuth client id keeps its name and gains a random suffix.
    On a shard, every value but the passwords starts with the shard's prefix, and so does every
    user's email (the prefix before its local part), so email + password routes like a token.
    """
    out = dict(doc)
    users = []
    for user in doc.get("users", []):
        email = keys.prefix + user["email"]
        users.append(
            {
                **user,
                "email": email,
                "api_token": _fresh(keys, kinds.API_TOKEN, _hex),
                "password": _fresh(keys, kinds.LOGIN, lambda: _urlsafe(16), login_of=email),
            }
        )
    out["users"] = users
    apps = []
    for app in doc.get("oauth_applications", []):
        name = app["client_id"]
        client_id = _fresh(keys, kinds.CLIENT, lambda: f"{name}-{_hex(4)}")  # noqa: B023 (called at once)
        apps.append({**app, "client_id": client_id, "client_secret": _hex()})
    out["oauth_applications"] = apps
    out["oauth_tokens"] = [
        {
            **token,
            "token": _fresh(keys, kinds.ACCESS, lambda: _hex(32)),
            "refresh_token": (
                _fresh(keys, kinds.REFRESH, lambda: _hex(32))
                if token.get("refresh_token") is not None
                else None
            ),
        }
        for token in doc.get("oauth_tokens", [])
    ]
    out["oauth_codes"] = [
        {**code, "code": _fresh(keys, kinds.CODE, lambda: _urlsafe(32))}
        for code in doc.get("oauth_codes", [])
    ]
    out["flows"] = [{**flow, "api_token": _fresh(keys, kinds.PUSH, _hex)} for flow in doc.get("flows", [])]
    out["sources"] = [
        {**source, "flow_token": _fresh(keys, kinds.FLOW_TOKEN, _hex)} for source in doc.get("sources", [])
    ]
    return out


def credential_sheet(store: Store) -> dict[str, Any]:
    """Every credential of a world, as a client would configure it (the control API's answer)."""
    with store.lock:
        orgs = store.organizations.by_id
        return {
            "users": [
                {
                    "id": u.id,
                    "email": u.email,
                    "nick": u.nick,
                    "name": u.name,
                    "password": u.password,
                    "api_token": u.api_token,
                }
                for u in store.users.by_id.values()
            ],
            "oauth_applications": [
                {
                    "id": a.id,
                    "name": a.name,
                    "client_id": a.client_id,
                    "client_secret": a.client_secret,
                    "redirect_uri": a.redirect_uri,
                }
                for a in store.oauth.applications.values()
            ],
            "flows": [
                {
                    "id": f.id,
                    "organization": orgs[f.organization_id].parameterized_name,
                    "flow": f.parameterized_name,
                    "api_token": f.api_token,
                }
                for f in store.flows.by_id.values()
            ],
            "sources": [
                {"id": s.id, "flow": s.flow, "name": s.name, "flow_token": s.flow_token}
                for s in store.sources.by_id.values()
                if not s.deleted
            ],
            "oauth_tokens": [
                {
                    "access_token": t.token,
                    "refresh_token": t.refresh_token,
                    "user_id": t.user_id,
                    "application_id": t.application_id,
                    "scope": ",".join(t.scopes),
                }
                for t in store.oauth.tokens.values()
            ],
        }


def _detach(world: World) -> None:
    """What refers back to a removed world's store made weak, so the world is freed as soon as
    nothing uses it, without the cyclic collector (which never frees what a world load froze,
    world/loading.py ``collector_paused``)."""
    store = getattr(world, "store", None)
    if store is not None:
        store.detach()
    keys = getattr(world, "keys", None)
    if isinstance(keys, WorldKeys):
        keys.forget_world()


# --- the registry -------------------------------------------------------------------------------
class Worlds:
    """Every world of one server, the credential index, and their lifecycle."""

    TEMPLATE_CACHE = 8
    """Generated (seed, sizes) documents kept for the next world asking for the same ones."""

    def __init__(
        self,
        default: Runtime,
        *,
        limits: Limits | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        shard: str | None = None,
    ) -> None:
        if shard is not None and shard_problem(shard) is not None:
            raise ValueError(f"shard name {shard!r}: {shard_problem(shard)}")
        self.index = CredentialIndex()
        self.limits = limits or Limits()
        self.clock = clock
        """Seconds, for idle times; inject one to drive expiry without waiting."""
        self.wall = wall
        self.lock = threading.RLock()
        world = World(DEFAULT_ID, {"source": "default"}, wall(), clock())
        world.store = default.store
        world.runtime = default
        world.keys = WorldKeys(self.index, world)
        default.store.keys = world.keys
        world.keys.replace(default.store.credentials())
        self.default = world
        self.journal: Journal | None = None
        """Every world's requests together, the default one's included: the server's view, which
        ``flowdock-mock run`` reports on (each world's own journal is ``world.runtime.journal``).
        None until ``keep_journal``: a server nobody reports on keeps each request once, not twice."""
        self.shard = shard
        """This server's shard name (``--shard``): the prefix of its created worlds' ids and
        credentials; None on a server that is not one shard of several."""
        self.by_id: dict[str, World] = {DEFAULT_ID: world}
        self.by_control_token: dict[str, World] = {}
        """Each created world's control token -> the world (middleware/admin_gate.py reads it)."""
        self.only_default = True
        """True while no other world exists: requests skip the credential lookup entirely."""
        self._next_sweep = clock() + self._sweep_every()
        self._templates: OrderedDict[tuple[Any, ...], dict[str, Any]] = OrderedDict()

    def keep_journal(self) -> Journal:
        """The server's journal (``journal``), recording every world's requests from now on."""
        with self.lock:
            if self.journal is None:
                default = self.default.runtime
                self.journal = Journal(default.journal.size, default.operations, default.journal.credentials)
            return self.journal

    # --- routing ------------------------------------------------------------------------------
    def find(self, kind: str, value: str) -> World | None:
        """The live world holding this credential (None: no world does; the default answers)."""
        return self.live(self.index.owner.get((kind, value)))

    def live(self, world: World | None) -> World | None:
        """``world``, used now; None when it is None or was idle too long (it is removed then)."""
        if world is None or world is self.default:
            return world
        now = self.clock()
        idle = self.limits.idle_timeout_s
        if idle and now - world.last_used > idle:
            self._remove(world)
            return None
        world.last_used = now
        return world

    def find_carried(self, carrier: str, value: str, password: str = "") -> World | None:
        """The world of a credential carried by ``carrier`` (``kinds.CARRIERS``: every kind it
        may be, in the same order the security checkers try them); None: no world holds it."""
        for kind, key in kinds.candidates(carrier, value, password):
            world = self.find(kind, key)
            if world is not None:
                return world
        return None

    def owner_carried(self, carrier: str, value: str, password: str = "") -> World | None:
        """The world holding the first kind ``find_carried`` would find, live or not (``live``
        tells); None: no world holds any of them."""
        owner = self.index.owner
        for key in kinds.candidates(carrier, value, password):
            world = owner.get(key)
            if world is not None:
                return world
        return None

    def get(self, world_id: str) -> World:
        """The world with this id (404 when there is none, or it expired)."""
        world = self.by_id.get(world_id)
        if world is None or self._expired(world):
            if world is not None:
                self._remove(world)
            raise errors.NotFound(errors.NO_SUCH_WORLD, {"world": [world_id]})
        world.last_used = self.clock()
        return world

    def _expired(self, world: World) -> bool:
        idle = self.limits.idle_timeout_s
        return world is not self.default and bool(idle) and self.clock() - world.last_used > idle

    # --- lifecycle ----------------------------------------------------------------------------
    def sweep(self) -> list[str]:
        """Remove every world idle for too long; their ids."""
        with self.lock:
            self._next_sweep = self.clock() + self._sweep_every()
            gone = [w for w in self.by_id.values() if self._expired(w)]
            for world in gone:
                self._remove(world)
            return [w.id for w in gone]

    def sweep_if_due(self) -> None:
        """``sweep`` at most every tenth of the idle timeout (a minute at most): called on every
        request while other worlds exist, so a world nobody calls any more is still removed and
        its memory released, without a timer thread (and driven by the injectable clock)."""
        if self.limits.idle_timeout_s and self.clock() >= self._next_sweep:
            self.sweep()

    def _sweep_every(self) -> float:
        return min(self.limits.idle_timeout_s / 10, 60.0)

    def create(self, template: dict[str, Any], origin: dict[str, Any]) -> World:
        """A new world: ``template``'s data with fresh credentials (429 at the cap)."""
        self.sweep()
        self._check_cap()
        world = World(self._new_id(), origin, self.wall(), self.clock())
        world.keys = WorldKeys(self.index, world, shard_prefix(self.shard))
        try:
            doc = with_fresh_credentials(template, world.keys)
            config = self.default.store.config
            world.store = Store(doc, config, keys=world.keys, credential_seed=secrets.randbits(64))
            world.runtime = self.default.runtime.for_store(world.store)
            with self.lock:
                self._check_cap()
                world.control_token = self._new_control_token()
                self.by_id[world.id] = world
                self.by_control_token[world.control_token] = world
                self.only_default = False
        except BaseException:
            world.keys.drop()
            _detach(world)
            raise
        return world

    def _check_cap(self) -> None:
        if len(self.by_id) - 1 >= self.limits.max_worlds:
            raise errors.TooManyWorlds(
                errors={"worlds": [errors.WORLD_CAP.format(limit=self.limits.max_worlds)]}
            )

    def _new_id(self) -> str:
        while True:
            world_id = shard_prefix(self.shard) + "w" + secrets.token_hex(8)
            if world_id not in self.by_id:
                return world_id

    def _new_control_token(self) -> str:
        while True:
            token = shard_prefix(self.shard) + secrets.token_urlsafe(CONTROL_TOKEN_BYTES)
            if token not in self.by_control_token:
                return token

    def controlled_by(self, token: str) -> World | None:
        """The live world this control token opens (None: no world's)."""
        world = self.by_control_token.get(token)
        if world is None or self._expired(world):
            if world is not None:
                self._remove(world)
            return None
        return world

    def delete(self, world_id: str) -> None:
        if world_id == DEFAULT_ID:
            raise errors.ValidationFailed.field("world", errors.DEFAULT_WORLD_STAYS)
        self._remove(self.get(world_id))

    def _remove(self, world: World) -> None:
        with self.lock:
            if self.by_id.get(world.id) is not world:
                return
            del self.by_id[world.id]
            if world.control_token is not None:
                self.by_control_token.pop(world.control_token, None)
            self.only_default = len(self.by_id) == 1
        world.keys.drop()
        world.runtime.webhooks.close()  # its worker ends; nothing more is delivered
        world.runtime.activity.clear()  # its presence and typing schedules stop
        streams = world.store.streams  # the world's stream hub (mock_server/stream/), if it has one
        if streams is not None:
            streams.close_all("world removed")
        _detach(world)

    def list(self) -> list[World]:
        self.sweep()
        return list(self.by_id.values())

    # --- the control API --------------------------------------------------------------------
    def create_from(self, body: dict[str, Any]) -> dict[str, Any]:
        """``POST /_mock/worlds``: a world from the default one, a seed and sizes, or a document."""
        origin: dict[str, Any]
        given = [name for name in ("from", "seed", "world") if name in body]
        if len(given) > 1 or ("sizes" in body and "seed" not in body):
            raise errors.ValidationFailed.field("base", errors.ONE_WORLD_SOURCE)
        if "world" in body:
            doc = body["world"]
            self._within_budget("world", len(orjson.dumps(doc)) if isinstance(doc, dict) else 0)
            problems = world_problems(doc, self.default.store.config)
            if problems:
                raise errors.ValidationFailed(errors.INVALID_WORLD, problems)
            template, origin = doc, {"source": "document"}
        elif "seed" in body:
            sizes = Sizes(**body.get("sizes", {}))
            self._within_budget("sizes", generated_document_bytes(**asdict(sizes)))
            template = self.generated(int(body["seed"]), sizes)
            origin = {"source": "seed", "seed": int(body["seed"]), "sizes": asdict(sizes)}
        else:
            template, origin = self.default.store.initial, {"source": "default"}
        if "history" in body or "history_users" in body:
            from mock_server.runtime.history import with_posted_history  # reads zips: only when asked

            template, loaded = with_posted_history(template, body)
            origin = {**origin, "history": loaded}
        return self.describe(self.create(template, origin), credentials=True)

    def _within_budget(self, field: str, document_bytes: int) -> None:
        """400 on ``field`` when a world built from a document this large would take more memory
        than ``Limits.world_memory_mb`` (checked before anything is generated or built)."""
        if document_bytes > self.limits.document_bytes:
            need = -(-document_bytes * DOCUMENT_BYTES_FACTOR // (1024 * 1024))
            text = errors.OVER_WORLD_BUDGET.format(need=need, limit=self.limits.world_memory_mb)
            raise errors.ValidationFailed.field(field, text)

    def describe(self, world: World, *, credentials: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": world.id,
            "created_at": iso_ms(int(world.created_at * 1000)),
            "idle_s": round(max(0.0, self.clock() - world.last_used), 3),
            "origin": dict(world.origin),
        }
        if credentials:
            if world.control_token is not None:
                out["control_token"] = world.control_token
            out["credentials"] = credential_sheet(world.store)
        return out

    def summary(self) -> dict[str, Any]:
        """``GET /_mock/worlds``: every world, or only the caller's when a world's control token
        limits the request (``CONTROL_CALLER``); never any credential."""
        limits = {
            "max_worlds": self.limits.max_worlds,
            "idle_timeout_s": self.limits.idle_timeout_s,
            "world_memory_mb": self.limits.world_memory_mb,
            "max_document_bytes": self.limits.document_bytes,
        }
        caller = CONTROL_CALLER.get()
        shown = [w for w in self.list() if caller is None or w.id == caller]
        return {"limits": limits, "worlds": [self.describe(w) for w in shown]}

    # --- templates ----------------------------------------------------------------------------
    def generated(self, seed: int, sizes: Any) -> dict[str, Any]:
        """The generator's document for ``seed`` and ``sizes`` (the last few are cached)."""
        from mock_server.world.generator import generate  # Faker: only when a seed is asked for

        key = (seed, sizes)
        with self.lock:
            doc = self._templates.get(key)
            if doc is not None:
                self._templates.move_to_end(key)
                return doc
        doc = generate(seed, sizes)
        with self.lock:
            self._templates[key] = doc
            while len(self._templates) > self.TEMPLATE_CACHE:
                self._templates.popitem(last=False)
        return doc
