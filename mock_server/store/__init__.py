"""The in-memory world: one root object, one lock, one seeded random source.

``Store`` owns every aggregate (organizations, users, flows, messages, private conversations,
sources, invitations, files, OAuth) and the event log every write appends to (``events``). Handlers call its sub-stores by operation name; nothing here
knows about HTTP. The whole state round-trips through a plain JSON document (``export``/``load``),
which is also the fixtures format (fixtures/world.schema.json).
"""

from __future__ import annotations

import random
import threading
import weakref
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from random import Random
from typing import Any

import orjson

from mock_server.store import keys as credential
from mock_server.store.clock import Clock
from mock_server.store.events import DEFAULT_LOG_SIZE, EventLog
from mock_server.store.files import FileStore
from mock_server.store.flows import FlowStore
from mock_server.store.invitations import InvitationStore
from mock_server.store.keys import Key, Keys
from mock_server.store.messages import MessageStore
from mock_server.store.oauth import OAuthStore
from mock_server.store.organizations import OrganizationStore
from mock_server.store.private import PrivateStore
from mock_server.store.sources import SourceStore
from mock_server.store.threads import ThreadStore
from mock_server.store.users import UserStore

__all__ = ["Store", "StoreConfig"]

EXPORT_CHUNK = 2000
"""Records per chunk of ``Store.export_json``."""

URLSAFE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
"""The 64 characters of ``Store.token_urlsafe``'s strings."""


def _sections(exported: dict[str, Any]) -> Iterator[tuple[str, Iterable[bytes] | bytes]]:
    """A part's ``export()`` as ``export_json`` sections: each list's elements encoded one by one."""
    for key, value in exported.items():
        yield key, (map(orjson.dumps, value) if isinstance(value, list) else orjson.dumps(value))


def _json_chunks(sections: Iterable[tuple[str, Iterable[bytes] | bytes]], per_chunk: int) -> Iterator[bytes]:
    """The JSON object of ``sections``, arrays ``per_chunk`` encoded elements per chunk."""
    sep = b"{"
    for key, value in sections:
        head = sep + orjson.dumps(key) + b":"
        sep = b","
        if isinstance(value, bytes):
            yield head + value
            continue
        yield head + b"["
        elements, comma = iter(value), b""
        while batch := list(islice(elements, per_chunk)):
            yield comma + b",".join(batch)
            comma = b","
        yield b"]"
    yield b"}"


@dataclass
class StoreConfig:
    """Settings that shape representations, not state."""

    base_url: str = "http://127.0.0.1:8080"
    """Where this server is reached; used in every `url` field and the file download redirect."""
    max_upload_bytes: int = 10 * 1024 * 1024
    """Largest file accepted by an upload (413 above it)."""
    event_log_size: int = DEFAULT_LOG_SIZE
    """Recent events kept for stream replay (``Last-Event-ID``): a ring (store/events.py)."""
    clock_start_ms: int | None = None
    """The instant the world's clock starts at (epoch ms); None: real time (store/clock.py)."""
    stream_keepalive: float = 30.0
    """Seconds between keep-alives on a quiet stream (mock_server/stream/)."""
    stream_lifetime: float | None = None
    """Seconds after which the server ends each stream, cleanly (``--stream-lifetime``); None: never."""
    stream_queue: int = 1000
    """Events a stream may have waiting before its client counts as stopped and is cut."""
    max_streams: int = 1000
    """Stream connections the server holds at once, every world's together (``--max-streams``)."""
    streams_open: list[int] = field(default_factory=lambda: [0], repr=False, compare=False)
    """How many are open now: shared by every world's hub, as the config is (mock_server/stream/)."""


class Store:
    """Root of the state: sub-stores per aggregate, a re-entrant lock, a seeded id source."""

    config: StoreConfig
    lock: threading.RLock
    keys: Keys
    events: EventLog
    seed: int
    random: Random
    users: UserStore
    organizations: OrganizationStore
    flows: FlowStore
    files: FileStore
    oauth: OAuthStore
    sources: SourceStore
    messages: MessageStore
    threads: ThreadStore
    private: PrivateStore
    invitations: InvitationStore

    def __init__(
        self,
        world: dict[str, Any],
        config: StoreConfig | None = None,
        *,
        keys: Keys | None = None,
        credential_seed: int | None = None,
    ) -> None:
        """``keys`` is told every credential the store holds and mints (store/keys.py); credentials
        are drawn from the seeded source unless ``credential_seed`` gives them their own."""
        self.config = config or StoreConfig()
        self.lock = threading.RLock()
        self.keys = keys or Keys()
        self._credential_random = random.Random(credential_seed) if credential_seed is not None else None
        self._initial = world
        self.clock = Clock(self.config.clock_start_ms)
        """The world's time: every ``now_ms`` reads it; a reset puts it back (store/clock.py)."""
        # Outlives load/reset: open streams stay subscribed; a reset only empties the ring.
        self.events = EventLog(self, self.config.event_log_size)
        self.streams: Any = None
        """This world's open streams: the hub mock_server/stream/hub.py attaches on first use."""
        self.stream_faults: Any = None
        """This world's stream faults (runtime/faults.py ``StreamFaults``), set by its runtime."""
        self.load(world)

    @property
    def initial(self) -> dict[str, Any]:
        """The document this store was created with (what ``reset`` goes back to)."""
        return self._initial

    PARTS = (
        "users",
        "organizations",
        "flows",
        "files",
        "oauth",
        "sources",
        "messages",
        "private",
        "invitations",
    )
    """The aggregates, in load order: later ones refer to earlier ones by id."""

    def load(self, world: dict[str, Any]) -> None:
        """Replace the whole state with the given world document.

        The new state is built aside, without the lock (a large document takes a while), and
        swapped in under it, so requests wait only for the swap and never see half a world.
        """
        self.adopt(self.build(world))

    def build(self, world: dict[str, Any]) -> Store:
        """A detached store holding ``world``, for ``adopt`` (raises if the document is broken)."""
        fresh = object.__new__(Store)
        fresh.config = self.config
        fresh.lock = threading.RLock()
        fresh.keys = Keys()  # reports nothing: ``adopt`` tells this store's keys
        fresh._credential_random = self._credential_random
        fresh.clock = self.clock
        fresh.events = self.events
        fresh.seed = int(world.get("seed", 0))
        fresh.random = random.Random(fresh.seed)
        fresh.organizations = OrganizationStore(fresh)
        fresh.users = UserStore(fresh)
        fresh.flows = FlowStore(fresh)
        fresh.messages = MessageStore(fresh)
        fresh.threads = ThreadStore(fresh)
        fresh.private = PrivateStore(fresh)
        fresh.sources = SourceStore(fresh)
        fresh.invitations = InvitationStore(fresh)
        fresh.files = FileStore(fresh)
        fresh.oauth = OAuthStore(fresh)
        try:
            for name in self.PARTS:
                getattr(fresh, name).load(world)
        except BaseException:
            fresh.detach()  # a broken document: dropped without the cyclic collector
            raise
        return fresh

    def adopt(self, fresh: Store) -> list[Any]:
        """Take over the state ``build`` made, under the lock; the parts it replaces.

        The caller holds the replaced parts (a large world's records) until after the lock, and
        may drop them in small steps (world/loading.py ``release``)."""
        with self.lock:
            self.events.clear()
            self.seed, self.random = fresh.seed, fresh.random
            replaced = []
            for name in (*self.PARTS, "threads"):
                part = getattr(fresh, name)
                part.store = self
                replaced.append(getattr(self, name, None))
                setattr(self, name, part)
            self.keys.replace(self.credentials())
            return replaced

    def detach(self) -> None:
        """The store is going (its world removed): its parts' and event log's references back to
        it become weak, so nothing but the cyclic collector's cycles kept it, and it is freed
        when its last user lets go (a request still running on it keeps it whole until then).
        World loads freeze what they build (world/loading.py ``collector_paused``), and the
        collector never frees frozen cycles."""
        proxy = weakref.proxy(self)
        for name in (*self.PARTS, "threads"):
            part: Any = getattr(self, name, None)
            if getattr(part, "store", None) is self:
                part.store = proxy
        holders: tuple[Any, ...] = (getattr(self, "events", None), getattr(self, "streams", None))
        for holder in holders:
            if getattr(holder, "store", None) is self:
                holder.store = proxy

    def reset(self) -> None:
        """Back to the world this store was created with, and its clock to how it started."""
        self.clock.reset()
        self.load(self._initial)

    def _exported(self) -> tuple[Any, ...]:
        """The parts in the order of the export's keys."""
        return (
            self.users,
            self.organizations,
            self.flows,
            self.files,
            self.oauth,
            self.sources,
            self.messages,
            self.private,
            self.invitations,
        )

    def export(self) -> dict[str, Any]:
        """The whole state as a world document; ``load(export())`` gives the same state."""
        with self.lock:
            world: dict[str, Any] = {"seed": self.seed}
            for part in self._exported():
                world.update(part.export())
            return world

    def export_json(self, per_chunk: int = EXPORT_CHUNK, *, snapshot: bool = False) -> list[bytes]:
        """``orjson.dumps(export())``, the same bytes, in chunks of at most ``per_chunk`` records,
        without the export's dicts: a part that can (messages and threads) writes each record
        straight from the stored object, so a large world's export never exists twice (as dicts
        and as JSON) and takes a fraction of the time.

        With ``snapshot``, the lock is held only to copy what is exported (the lists of records,
        not the records) and the encoding runs after: the world's other requests wait for the
        copy, not for the export (each record is encoded whole, before or after any change)."""
        with self.lock:
            sections = self._sections(snapshot=snapshot)
            if not snapshot:
                return list(_json_chunks(sections, per_chunk))
        return list(_json_chunks(sections, per_chunk))

    def export_size(self) -> int:
        """``len(b"".join(export_json()))`` (a snapshot, as ``export_json`` takes one), counted a
        chunk at a time: the JSON is never kept."""
        with self.lock:
            sections = self._sections(snapshot=True)
        return sum(map(len, _json_chunks(sections, EXPORT_CHUNK)))

    def _sections(self, *, snapshot: bool) -> list[tuple[str, Iterable[bytes] | bytes]]:
        """``(key, encoded value or its encoded elements)`` of the export, in its order; with
        ``snapshot``, readable after the lock is released (the lists are copies)."""
        sections: list[tuple[str, Iterable[bytes] | bytes]] = [("seed", orjson.dumps(self.seed))]
        for part in self._exported():
            if hasattr(part, "export_json"):
                sections.extend(part.export_json(snapshot=snapshot))
            else:
                sections.extend(_sections(part.export()))
        return sections

    # --- credentials ----------------------------------------------------------------------------
    def credentials(self) -> Iterator[Key]:
        """Every credential the state holds, as ``(kind, value)`` (store/keys.py)."""
        for user in self.users.by_id.values():
            yield credential.API_TOKEN, user.api_token
            yield credential.LOGIN, credential.login_key(user.email, user.password)
        for app in self.oauth.applications.values():
            yield credential.CLIENT, app.client_id
        for token in self.oauth.tokens.values():
            yield credential.ACCESS, token.token
            if token.refresh_token is not None:
                yield credential.REFRESH, token.refresh_token
        for code in self.oauth.codes.values():
            yield credential.CODE, code.code
        for flow in self.flows.by_id.values():
            yield credential.PUSH, flow.api_token
        for source in self.sources.by_id.values():
            yield credential.FLOW_TOKEN, source.flow_token
        for download in self.files.downloads:
            yield credential.DOWNLOAD, download

    def new_credential(self, kind: str, nbytes: int = 0, length: int = 0) -> str:
        """A fresh credential, ``nbytes`` random bytes in hex or ``length`` url-safe characters
        after the keys' ``prefix``, that no other world holds (``keys.claim``), now this store's."""
        rng = self._credential_random or self.random
        prefix = self.keys.prefix  # a shard's name (store/keys.py), so a router can place it
        while True:
            value = prefix + (self.token_hex(nbytes, rng) if nbytes else self.token_urlsafe(length, rng))
            if self.keys.claim(kind, value):
                return value

    # --- shared helpers -------------------------------------------------------------------------
    def token_hex(self, nbytes: int = 16, rng: Random | None = None) -> str:
        """A random hex token from the seeded source (API tokens, flow tokens, secrets)."""
        return f"{(rng or self.random).getrandbits(nbytes * 8):0{nbytes * 2}x}"

    def token_urlsafe(self, length: int, rng: Random | None = None) -> str:
        """A random url-safe string of ``length`` characters (thread ids, file hashes, codes)."""
        # ``Random.choice`` over the 64 characters, its draws made here: a 7-bit number, drawn
        # again until it is under 64 (``_randbelow``), so a seed gives the very strings it gave
        # through ``choice`` (tests/unit/test_store_tokens.py), at a third of the calls (a posted
        # message's thread id is 27 characters).
        getrandbits = (rng or self.random).getrandbits
        picked = []
        for _ in range(length):
            r = getrandbits(7)
            while r >= 64:
                r = getrandbits(7)
            picked.append(URLSAFE[r])
        return "".join(picked)

    def uuid4(self) -> str:
        """A version-4 UUID string from the seeded source (flow ids)."""
        n = self.random.getrandbits(128)
        n &= ~(0xC000 << 48)
        n |= 0x8000 << 48
        n &= ~(0xF000 << 64)
        n |= 0x4000 << 64
        h = f"{n:032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def now_ms(self) -> int:
        """Milliseconds since the epoch on the world's clock: Flowdock's `sent` unit."""
        return self.clock.now_ms()
