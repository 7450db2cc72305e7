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
ring shown by the control API and recorded in the world's journal.

Only registered URLs are ever called, and by default only loopback ones can be registered
(``127.0.0.0/8``, ``::1``, ``localhost``), so nothing that can reach the control API (a fuzzer
included) can make the mock send traffic anywhere else.
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import ipaddress
import itertools
import logging
import threading
import time
import urllib.error
import urllib.request
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
"""Seconds a receiver has to answer one attempt."""
DELIVERY_LOG = 1000
"""Attempts kept for /_mock/webhooks/deliveries (a ring)."""
USER_AGENT = "flowdock-mock webhooks"

NOT_LOOPBACK = "must be an http(s) URL on a loopback address (127.0.0.1, ::1, localhost)"
NOT_HTTP = "must be an http or https URL with a host"


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
        any_host: bool = False,
        queue_size: int = QUEUE_SIZE,
        max_attempts: int = MAX_ATTEMPTS,
        backoff_s: float = BACKOFF_S,
        timeout_s: float = TIMEOUT_S,
    ) -> None:
        self.store = store
        self.journal = journal
        self.any_host = any_host
        self.queue_size = queue_size
        self.max_attempts = max_attempts
        self.backoff_s = backoff_s
        self.timeout_s = timeout_s
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
    def register(self, body: dict[str, Any]) -> dict[str, Any]:
        url = str(body["url"])
        check_url(url, any_host=self.any_host)
        flows: set[str] = set()
        for ref in body.get("flows") or ():
            flow = self._flow(str(ref))
            if flow is None:
                raise errors.ValidationFailed.field("flows", errors.INVALID)
            flows.add(flow)
        with self._cond:
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
        with self._cond:
            self._closed = True
            self.clear()
            self._cond.notify_all()

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
            status, error, duration = self._post(job)
            with self._cond:
                if generation != self._generation or job.hook.id not in self.hooks:
                    continue
                retry = (status is None or not 200 <= status < 300) and job.attempt < self.max_attempts
                self._record(job, status=status, duration=duration, error=error, retry=retry)
                if retry:
                    job.due = time.monotonic() + self.backoff_s * 2 ** (job.attempt - 1)
                    job.attempt += 1
                    job.order = next(self._order)
                    heapq.heappush(self._jobs, job)

    def _post(self, job: _Job) -> tuple[int | None, str | None, float]:
        request = urllib.request.Request(
            job.hook.url,
            data=job.body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "X-Flowdock-Signature": signature(job.hook.secret, job.body),
                "User-Agent": USER_AGENT,
            },
        )
        # Only the registered URL: no proxy from the environment, no redirect followed.
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect)
        started = time.perf_counter()
        try:
            with opener.open(request, timeout=self.timeout_s) as response:
                response.read(65536)
                return int(response.status), None, time.perf_counter() - started
        except urllib.error.HTTPError as failed:
            return int(failed.code), None, time.perf_counter() - started
        except (OSError, ValueError) as failed:
            return None, f"{type(failed).__name__}: {failed}", time.perf_counter() - started

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


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None
