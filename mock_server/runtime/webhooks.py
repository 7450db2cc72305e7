"""Outgoing webhooks, as Flowdock sent them (docs/flowdock.md §8.6).

A test registers a URL, a shared secret and optionally the flows and event types it wants; every
matching event of the world's log is POSTed to it as the stream's JSON, with
``Content-Type: application/json`` and ``X-Flowdock-Signature: sha1=<hex HMAC-SHA1 of the raw
body keyed by the secret>``.

Delivery never blocks the write that caused the event: the log's subscriber only puts a job on a
bounded queue (a full queue drops the job and records it), and one worker thread per world
delivers, retrying a failure (a connection error or a status outside 2xx) a bounded number of
times with exponential backoff. The worker waits on a condition until the next job is due, never
in a polling loop. Every attempt (status, duration, attempt number, error) is kept in a bounded
ring shown by the control API and noted in the world's journal (apart from the clients' requests,
which deliveries never push out: runtime/journal.py).

An attempt is one HTTP/1.1 exchange over a socket of its own, parsed by h11, and it ends within a
total deadline (``WebhookPolicy.timeout_s``: connecting, sending and the whole response head),
whatever the receiver does: a response dripped a byte at a time, none at all, a status line or a
header no parser takes. Each ends recorded, as a status or an error; the worker itself never dies
of a receiver. Removing the world closes the socket of the attempt in flight, so its worker ends at
once instead of at the deadline.

Only registered URLs are ever called, and by default only loopback ones can be registered
(``127.0.0.0/8``, ``::1``, ``localhost``), so nothing that can reach the control API (a fuzzer
included) can make the mock send traffic anywhere else. Never the mock's own listening address
(on any of its addresses): a webhook to a REST write of the mock fed itself without end, one to
``/_mock/reset`` reset the world. The address is checked when the webhook is registered and again
when each attempt connects (to the address that was checked). A world holds at most
``WebhookPolicy.max_per_world`` webhooks (429 beyond).
"""

from __future__ import annotations

import contextlib
import hashlib
import heapq
import hmac
import ipaddress
import itertools
import logging
import socket
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import orjson

from mock_server import errors
from mock_server.runtime.journal import Entry, Journal
from mock_server.store.timefmt import iso_ms

if TYPE_CHECKING:
    from mock_server.store import Store
    from mock_server.store.events import Event

log = logging.getLogger("flowdock_mock.webhooks")

QUEUE_SIZE = 1000
"""Deliveries waiting at most; beyond it a new one is dropped (and recorded as dropped)."""
MAX_ATTEMPTS = 3
"""Attempts per delivery: the first and two retries."""
BACKOFF_S = 0.2
"""Seconds before the first retry; doubled for each one after."""
TIMEOUT_S = 5.0
"""Seconds one attempt may take in all (connect, send, the response head; ``--webhook-timeout``)."""
MAX_PER_WORLD = 20
"""Webhooks one world may hold (``--max-webhooks``)."""
MAX_RESPONSE_HEAD = 16 * 1024
"""Bytes of a receiver's status line and headers read at most (a longer head is malformed)."""
MAX_RESPONSE_BODY = 64 * 1024
"""Bytes of a receiver's response body read at most (the rest is not waited for)."""
DELIVERY_LOG = 1000
"""Attempts kept for /_mock/webhooks/deliveries (a ring)."""
USER_AGENT = "flowdock-mock webhooks"

NOT_LOOPBACK = "must be an http(s) URL on a loopback address (127.0.0.1, ::1, localhost)"
NOT_HTTP = "must be an http or https URL with a host"
UNRESOLVED = "names a host that does not resolve"


def signature(secret: str, body: bytes) -> str:
    """``sha1=<hex HMAC-SHA1 of body keyed by secret>``: the ``X-Flowdock-Signature`` value."""
    return "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()


def check_url(url: str, *, any_host: bool = False) -> None:
    """400 unless ``url`` is http(s) with a host, on a loopback address unless ``any_host``."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise errors.ValidationFailed.field("url", NOT_HTTP) from None
    if parts.scheme not in ("http", "https") or not host:
        raise errors.ValidationFailed.field("url", NOT_HTTP)
    if any_host or host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise errors.ValidationFailed.field("url", NOT_LOOPBACK)


class WebhookPolicy:
    """What every world's webhooks of one server share: where they may go, how long an attempt
    may take, how many a world may hold, and the server's own listening addresses."""

    def __init__(
        self, *, any_host: bool = False, timeout_s: float = TIMEOUT_S, max_per_world: int = MAX_PER_WORLD
    ) -> None:
        self.any_host = any_host
        self.timeout_s = timeout_s
        self.max_per_world = max_per_world
        self.listening: set[tuple[str, int]] = set()
        """(address, port) the server accepts connections on: from the serving sockets when the
        CLI's server starts, and from each request that registers a webhook (what it came in on)."""

    def listen_on(self, addresses: Any) -> None:
        for address in addresses:
            if isinstance(address, tuple | list) and len(address) >= 2 and isinstance(address[1], int):
                self.listening.add((str(address[0]), address[1]))

    def is_self(self, ip: str, port: int) -> bool:
        """Whether ``ip``:``port`` reaches this server: one of its ports on a loopback, wildcard or
        local address (a server bound to 0.0.0.0 answers on every address of the machine)."""
        listening = set(self.listening)
        if port not in {p for _, p in listening}:
            return False
        host = ip.split("%", 1)[0]
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        if address.is_loopback or address.is_unspecified or (host, port) in listening:
            return True
        return _is_local(address)

    def resolve(self, url: str) -> list[tuple[Any, ...]]:
        """``getaddrinfo`` of the URL's host and port (400 when it names none); 400 when any of
        them is this server's own address."""
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            found = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            raise errors.ValidationFailed.field("url", UNRESOLVED) from None
        if any(self.is_self(str(info[4][0]), port) for info in found):
            raise errors.ValidationFailed.field("url", errors.WEBHOOK_TO_SELF)
        return found


def _is_local(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether ``address`` is one of this machine's (binding a UDP socket to it succeeds; nothing
    is sent)."""
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as probe:
            probe.bind((str(address), 0))
    except OSError:
        return False
    return True


@dataclass(slots=True)
class Webhook:
    id: int
    url: str
    secret: str
    flows: frozenset[str]
    events: frozenset[str]
    created_at: int

    def wants(self, event: Event) -> bool:
        if event.flow is None:  # Flowdock's webhooks belonged to flows
            return False
        if self.flows and event.flow not in self.flows:
            return False
        return not self.events or event.body.get("event") in self.events

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "url": self.url,
            "flows": sorted(self.flows),
            "events": sorted(self.events),
            "created_at": iso_ms(self.created_at),
        }


@dataclass(order=True, slots=True)
class _Job:
    due: float
    order: int
    hook: Webhook = field(compare=False)
    event_id: int = field(compare=False)
    event_type: str = field(compare=False)
    body: bytes = field(compare=False)
    attempt: int = field(compare=False, default=1)


class Webhooks:
    """One world's webhooks, its delivery queue and worker, and the record of every attempt."""

    def __init__(
        self,
        store: Store,
        journal: Journal | None = None,
        *,
        policy: WebhookPolicy | None = None,
        queue_size: int = QUEUE_SIZE,
        max_attempts: int = MAX_ATTEMPTS,
        backoff_s: float = BACKOFF_S,
    ) -> None:
        self.store = store
        self.journal = journal
        self.policy = policy or WebhookPolicy()
        self.queue_size = queue_size
        self.max_attempts = max_attempts
        self.backoff_s = backoff_s
        self._socket: socket.socket | None = None
        """The socket of the attempt in flight (closed by ``close``, so the worker ends at once)."""
        self.hooks: dict[int, Webhook] = {}
        self._ids = itertools.count(1)
        self._order = itertools.count()
        self._delivery_ids = itertools.count(1)
        self.deliveries: deque[dict[str, Any]] = deque(maxlen=DELIVERY_LOG)
        self._jobs: list[_Job] = []
        self._cond = threading.Condition()
        self._worker: threading.Thread | None = None
        self._closed = False
        self._generation = 0
        self._listeners: list[Callable[[Any], None]] = []
        self._unsubscribe = store.events.subscribe(self._on_event)

    # --- registration ---------------------------------------------------------------------------
    @property
    def any_host(self) -> bool:
        return self.policy.any_host

    def register(self, body: dict[str, Any], via: Any = None) -> dict[str, Any]:
        """A new webhook (``via``: the address the registering request came in on, the server's)."""
        url = str(body["url"])
        check_url(url, any_host=self.any_host)
        if via is not None:
            self.policy.listen_on([via])
        self.policy.resolve(url)
        flows: set[str] = set()
        for ref in body.get("flows") or ():
            flow = self._flow(str(ref))
            if flow is None:
                raise errors.ValidationFailed.field("flows", errors.INVALID)
            flows.add(flow)
        with self._cond:
            if len(self.hooks) >= self.policy.max_per_world:
                limit = self.policy.max_per_world
                raise errors.TooManyWebhooks(errors={"webhooks": [errors.WEBHOOK_CAP.format(limit=limit)]})
            hook = Webhook(
                next(self._ids),
                url,
                str(body["secret"]),
                frozenset(flows),
                frozenset(body.get("events") or ()),
                self.store.now_ms(),
            )
            self.hooks[hook.id] = hook
        return hook.to_dict()

    def _flow(self, ref: str) -> str | None:
        flows = self.store.flows
        if "/" in ref:
            org, _, name = ref.partition("/")
            found = flows.find(org, name)
            return found.id if found is not None else None
        return ref if ref in flows.by_id else None

    def registered(self) -> list[dict[str, Any]]:
        with self._cond:
            return [h.to_dict() for h in self.hooks.values()]

    def delete(self, hook_id: int) -> None:
        with self._cond:
            if self.hooks.pop(hook_id, None) is None:
                raise errors.NotFound()
            self._jobs = [j for j in self._jobs if j.hook.id != hook_id]
            heapq.heapify(self._jobs)

    def subscribe(self, listener: Callable[[Any], None]) -> Callable[[], None]:
        """Call ``listener(attempt)`` after each recorded attempt; returns the unsubscribe call."""
        with self._cond:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._cond:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def list_deliveries(self, limit: int | None = None) -> list[dict[str, Any]]:
        with self._cond:
            found = list(self.deliveries)
        return found if limit is None else found[-limit:] if limit > 0 else []

    def clear(self) -> None:
        """Forget every webhook, pending delivery and record (a reset); an attempt in flight ends
        unrecorded."""
        with self._cond:
            self.hooks.clear()
            self._jobs.clear()
            self.deliveries.clear()
            self._generation += 1

    def close(self) -> None:
        """Stop for good (the world is removed): no more deliveries, the worker ends."""
        self._unsubscribe()
        self._unsubscribe = _nothing  # it refers back to this object: the world goes without the collector
        with self._cond:
            self._closed = True
            self.clear()
            self._cond.notify_all()
            in_flight = self._socket
        if in_flight is not None:
            _abort(in_flight)

    # --- queueing (in the writer's thread: never blocks it) -------------------------------------
    def _on_event(self, event: Event) -> None:
        if not self.hooks:
            return
        wanted = [h for h in list(self.hooks.values()) if h.wants(event)]
        if not wanted:
            return
        body = orjson.dumps(event.body)
        kind = str(event.body.get("event"))
        now = time.monotonic()
        with self._cond:
            for hook in wanted:
                job = _Job(now, next(self._order), hook, event.seq, kind, body)
                if len(self._jobs) >= self.queue_size:
                    self._record(job, status=None, duration=0.0, error="dropped: the delivery queue is full")
                    continue
                heapq.heappush(self._jobs, job)
            self._start()
            self._cond.notify()

    def _start(self) -> None:
        if self._worker is None or not self._worker.is_alive():
            self._worker = threading.Thread(target=self._run, name="webhooks", daemon=True)
            self._worker.start()

    # --- delivering (the worker thread) ---------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._closed and (not self._jobs or self._jobs[0].due > time.monotonic()):
                    wait = self._jobs[0].due - time.monotonic() if self._jobs else None
                    self._cond.wait(wait)
                if self._closed:
                    return
                job = heapq.heappop(self._jobs)
                generation = self._generation
            started = time.perf_counter()
            try:
                status, error = self._post(job)
            except Exception as failed:
                log.exception("webhook delivery to %s failed unexpectedly", job.hook.url)
                status, error = None, f"{type(failed).__name__}: {failed}"
            duration = time.perf_counter() - started
            with self._cond:
                if self._closed:
                    return
                if generation != self._generation or job.hook.id not in self.hooks:
                    continue
                retry = (status is None or not 200 <= status < 300) and job.attempt < self.max_attempts
                self._record(job, status=status, duration=duration, error=error, retry=retry)
                if retry:
                    job.due = time.monotonic() + self.backoff_s * 2 ** (job.attempt - 1)
                    job.attempt += 1
                    job.order = next(self._order)
                    heapq.heappush(self._jobs, job)

    def _post(self, job: _Job) -> tuple[int | None, str | None]:
        """One attempt: ``(status, None)``, or ``(None, what went wrong)``, within the deadline."""
        headers = [
            ("Content-Type", "application/json"),
            ("X-Flowdock-Signature", signature(job.hook.secret, job.body)),
            ("User-Agent", USER_AGENT),
        ]
        try:
            addresses = self.policy.resolve(job.hook.url)
        except errors.FlowdockError as refused:
            return None, "refused: the URL " + "; ".join(t for ts in refused.errors.values() for t in ts)
        return post(job.hook.url, addresses, job.body, headers, self.policy.timeout_s, self._track)

    def _track(self, sock: socket.socket | None) -> None:
        with self._cond:
            self._socket = sock
            closed = self._closed
        if closed and sock is not None:
            _abort(sock)

    def _record(
        self, job: _Job, *, status: int | None, duration: float, error: str | None, retry: bool = False
    ) -> None:
        """Keep one attempt (called under the condition's lock) and journal it."""
        entry = {
            "id": next(self._delivery_ids),
            "webhook": job.hook.id,
            "url": job.hook.url,
            "event_id": job.event_id,
            "event": job.event_type,
            "attempt": job.attempt,
            "status": status,
            "ok": status is not None and 200 <= status < 300,
            "duration_ms": round(duration * 1000, 3),
            "error": error,
            "will_retry": retry,
            "time": iso_ms(self.store.now_ms()),
        }
        self.deliveries.append(entry)
        for listener in list(self._listeners):
            listener(entry)
        if self.journal is not None:
            self.journal.note(
                Entry(
                    0,
                    time.time(),
                    "POST",
                    job.hook.url,
                    b"",
                    [(b"content-type", b"application/json")],
                    job.body,
                    len(job.body),
                    None,
                    status or 0,
                    duration,
                    None,
                    [],
                    [],
                    None,
                    webhook={k: entry[k] for k in ("webhook", "attempt", "event_id", "error")},
                )
            )


class _Deadline(Exception):
    """The attempt's total deadline passed."""


def _nothing() -> None:
    return None


def _abort(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


def post(
    url: str,
    addresses: list[tuple[Any, ...]],
    body: bytes,
    headers: list[tuple[str, str]],
    timeout_s: float,
    track: Callable[[socket.socket | None], None],
) -> tuple[int | None, str | None]:
    """POST ``body`` to ``url`` at the first of its resolved ``addresses``, all within ``timeout_s``.

    A socket of its own (no proxy from the environment, no redirect followed: a 3xx is the
    answer), parsed by h11; ``track`` is told the socket while it is open. The deadline bounds
    each wait by what is left of the whole, so a receiver dripping bytes cannot stretch it.
    """
    parts = urlsplit(url)
    end = time.monotonic() + timeout_s

    def left() -> float:
        remaining = end - time.monotonic()
        if remaining <= 0:
            raise _Deadline
        return remaining

    import h11  # here: a server most often delivers no webhook, and h11 is ~10 ms of its start

    family, kind, proto, _, address = addresses[0]
    sock = socket.socket(family, kind, proto)
    track(sock)
    status: int | None = None
    try:
        sock.settimeout(left())
        sock.connect(address)
        if parts.scheme == "https":
            sock = ssl.create_default_context().wrap_socket(sock, server_hostname=parts.hostname)
            track(sock)
        conn = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_RESPONSE_HEAD)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        request = h11.Request(
            method="POST",
            target=target,
            headers=[
                ("Host", parts.netloc.rpartition("@")[2]),
                *headers,
                ("Content-Length", str(len(body))),
                ("Connection", "close"),
            ],
        )
        out = conn.send(request) + conn.send(h11.Data(data=body)) + conn.send(h11.EndOfMessage())
        sock.settimeout(left())
        sock.sendall(out)
        read = 0
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                sock.settimeout(left())
                conn.receive_data(sock.recv(65536))
            elif isinstance(event, h11.Response):
                status = event.status_code
            elif isinstance(event, h11.Data):
                read += len(event.data)
                if read > MAX_RESPONSE_BODY:
                    return status, None
            elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
                if status is None:
                    return None, "the connection closed without a response"
                return status, None
    except (_Deadline, TimeoutError):
        if status is not None:
            return status, None  # the answer is in; the rest of its body is not waited for
        return None, f"no response within the {timeout_s:g} s deadline"
    except h11.RemoteProtocolError as malformed:
        return None, f"malformed response: {malformed}"
    except OSError as failed:
        if status is not None:
            return status, None
        return None, f"{type(failed).__name__}: {failed}"
    finally:
        track(None)
        sock.close()
