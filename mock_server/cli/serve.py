"""``flowdock-mock serve`` (the default command): the mock over HTTP until SIGTERM or SIGINT.

The banner is printed once the server accepts connections. SIGTERM and SIGINT stop it within a
second and exit 0.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import signal
import sys

from mock_server import generated_code
from mock_server.launch import banner as banner_text
from mock_server.launch import base_url_for, bind_socket, build_app, make_server, raise_fd_limit
from mock_server.logs import configure_logging
from mock_server.settings import Settings, add_serve_arguments, settings_from_args

NAME = "serve"


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        NAME,
        help="serve the mock over HTTP (the default command)",
        description="Serve the mock over HTTP. Every option also reads an environment variable.",
    )
    add_serve_arguments(parser)


def execute(args: argparse.Namespace) -> int:
    return serve(settings_from_args(args))


class CollectorPause:
    """The cyclic garbage collector off while the server starts, on again once it accepts
    connections. Importing the libraries and building the app make a few hundred thousand
    objects that live as long as the server (modules, classes, the spec, the validators, the
    world) and very few cycles to free; each collection meanwhile walks all of them so far, about
    a tenth of the CPU a start takes. The app freezes what exists when its lifespan starts
    (binding/fastpath.py ``serving``), so turned on again the collector never walks them."""

    def __init__(self) -> None:
        self.paused = False
        self.whole_process = False

    def pause(self, *, whole_process: bool = False) -> None:
        """``whole_process``: the server is this process's program (its entry, cli.main), so the
        collector's thresholds are the server's to set (``resume(serving=True)``)."""
        self.whole_process |= whole_process
        if gc.isenabled():  # a collector already off (by its program) stays off
            gc.disable()
            self.paused = True

    def resume(self, *, serving: bool = False) -> bool:
        """The collector on again; True when it is the serving process's to run from now on
        (``serving`` and ``whole_process``, with the collector on): ``ready`` starts the
        ``IdleCollector`` then."""
        if self.paused:
            self.paused = False
            gc.enable()
        if serving and self.whole_process:
            self.whole_process = False
            return gc.isenabled()
        return False


OLDEST_THRESHOLD = 100
"""How many collections of the middle generation make a full one due in the serving process
(Python's own third threshold: 10). Posting keeps objects (messages, threads, journal entries), so
the oldest generation grows and each full pass walks all of it, holding every request meanwhile:
97 ms once about 19,000 messages were stored, under load. With Python's 10, such passes made the
POST row's p99 57-64 ms against 19-29 ms with 100 (32 connections, alternating runs;
docs/performance-report.md); the ``IdleCollector`` (mock_server/collector.py) then runs each due
pass when no request is starting. Young cycles are still freed by the frequent young passes; only
cyclic garbage that has grown old waits longer (a request leaves none, tests/clients/
test_request_garbage.py; a removed world, whose references back to itself are weak, is freed by
reference counting)."""


STARTING = CollectorPause()
"""This process's pause: the entry (cli.main) pauses it before importing the server's libraries."""


def serve(settings: Settings) -> int:
    STARTING.pause()
    try:
        return _serve(settings)
    finally:
        STARTING.resume()  # a start that failed: the program goes on with its collector


def _serve(settings: Settings) -> int:
    configure_logging(settings.log_format, settings.log_level)
    raise_fd_limit()  # each open stream holds a descriptor: as many as this system allows
    sock = bind_socket(settings.host, settings.port)
    try:
        base_url = base_url_for(settings, sock)
        app = build_app(settings, base_url)
        if settings.history:
            import gc

            gc.freeze()  # the loaded history stays: later collections need not walk it again

        history = None
        if settings.history_loaded:
            from mock_server.history_cli import banner_lines

            history = banner_lines(settings.history_loaded, app.store)

        def ready() -> None:
            if STARTING.resume(serving=True):
                from mock_server.collector import IdleCollector

                state = server.server_state
                IdleCollector(
                    asyncio.get_running_loop(), lambda: state.total_requests, due_after=OLDEST_THRESHOLD
                ).start()
            sys.stdout.write(banner_text(base_url, settings, history))
            sys.stdout.flush()
            # what this start compiled, with its first requests' routes, for the next (the
            # entry's process only; on stopping at the latest)
            generated_code.save_soon()

        server = make_server(app, settings.log_level, ready, settings.limits)
        # uvicorn stops gracefully on SIGTERM/SIGINT, restores the previous handlers and raises the
        # signal again; these no-op handlers make that a clean exit 0 (no traceback, no kill).
        previous = {sig: signal.signal(sig, lambda *_: None) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            server.run(sockets=[sock])
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    finally:
        sock.close()
        generated_code.save()  # a server stopped within its first second (else already saved)
    return 0
