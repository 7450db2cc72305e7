"""Building and starting the mock from ``Settings``: the world to serve, logging, the listening
socket (bound and listening before the app is built, so ``--port 0`` works, every URL knows the real
port, and a client that connects while the server starts waits for its answer instead of being refused),
the app and the uvicorn server. Shared by ``serve``, ``run``, the pytest plugin and every other
command that serves the mock; Connexion, uvicorn and Faker are imported only when a server is built.
"""

from __future__ import annotations

import json
import socket
import warnings
from pathlib import Path
from typing import Any

from mock_server.serving import HttpLimits
from mock_server.settings import Settings, UsageError
from mock_server.world import DEFAULT_SEED, MAIN_USER, Sizes

IMPORT_WARNINGS = (
    "Using `httpx` with `starlette.testclient` is deprecated",
    "jsonschema.RefResolver is deprecated",
    "jsonschema.exceptions.RefResolutionError is deprecated",
)


def read_document(path: str) -> Any:
    """A JSON or YAML file (by extension; anything else is tried as JSON, then YAML)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"fixtures file {path!r}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise UsageError(f"fixtures file {path!r}: not UTF-8 text") from None
    except (UnicodeEncodeError, ValueError):  # a name no file system takes: a lone surrogate, NUL
        raise UsageError(f"fixtures file {path!r}: no such file") from None
    suffix = Path(path).suffix.lower()
    if suffix != ".json":
        import yaml

        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as exc:
            if suffix in (".yaml", ".yml"):
                raise UsageError(f"fixtures file {path}: not valid YAML: {exc}") from None
    try:
        return json.loads(text, parse_constant=_not_json)
    except ValueError as exc:
        raise UsageError(f"fixtures file {path}: not valid JSON: {exc}") from None


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not a JSON number")


def load_world(settings: Settings) -> dict[str, Any] | None:
    """The world to serve, with the ``--history`` exports; None means the committed default world
    (the generator's default output)."""
    doc = _base_world(settings)
    if settings.history:
        from mock_server.contract import load_default_world
        from mock_server.history_cli import with_archives

        doc, settings.history_loaded = with_archives(
            doc if doc is not None else load_default_world(), list(settings.history), settings.history_users
        )
    return doc


def _base_world(settings: Settings) -> dict[str, Any] | None:
    if settings.fixtures:
        from mock_server.world.documents import world_problems

        doc = read_document(settings.fixtures)
        problems = (
            world_problems(doc) if isinstance(doc, dict) else {"base": ["the document must be an object"]}
        )
        if problems:
            lines = [f"  {where}: {text}" for where, texts in problems.items() for text in texts]
            more = f"\n  ... and {len(lines) - 10} more" if len(lines) > 10 else ""
            raise UsageError(
                f"fixtures file {settings.fixtures} is not a valid world document "
                f"(schema: fixtures/world.schema.json):\n" + "\n".join(lines[:10]) + more
            )
        return dict(doc)
    if settings.seed == DEFAULT_SEED and settings.sizes == Sizes():
        return None
    from mock_server.world import generate

    return generate(settings.seed, settings.sizes)


# --- the server ----------------------------------------------------------------------------------------
LISTEN_BACKLOG = 2048
"""uvicorn's default backlog (it calls ``listen`` again with its own when it starts serving)."""


def bind_socket(host: str, port: int) -> socket.socket:
    """A socket listening on host:port (port 0: a free one), before the app is built: the kernel
    completes connections from then on, and their requests are answered once the server runs
    (a CI job that starts the mock and its tests together gets no "connection refused")."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
    except (OSError, UnicodeError, ValueError) as exc:  # UnicodeError: a host name IDNA cannot encode
        raise UsageError(f"cannot bind {host!r}:{port}: {exc}") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(LISTEN_BACKLOG)
    except OSError as exc:
        sock.close()
        raise UsageError(f"cannot bind {host}:{port}: {exc.strerror or exc}") from None
    return sock


def base_url_for(settings: Settings, sock: socket.socket) -> str:
    if settings.public_url:
        return settings.public_url
    port = sock.getsockname()[1]
    host = settings.host
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


FD_RESERVE = 256
"""File descriptors kept for everything but streams (requests, health checks, files, logs)."""
MAX_DEFAULT_STREAMS = 10_000


def raise_fd_limit() -> int:
    """The soft limit of open files raised to the hard one where allowed; the soft limit after."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (ValueError, OSError):
            pass  # not allowed here: keep the soft limit
    return soft if soft != resource.RLIM_INFINITY else 1 << 20


def stream_limit() -> int:
    """The default ``--max-streams``: below the open-file limit, so streams never take the file
    descriptors health checks and ordinary requests need."""
    import resource

    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft == resource.RLIM_INFINITY:
        return MAX_DEFAULT_STREAMS
    return max(1, min(MAX_DEFAULT_STREAMS, soft - FD_RESERVE))


def build_app(settings: Settings, base_url: str, *, validate_responses: bool = True) -> Any:
    with warnings.catch_warnings():
        # Import-time deprecations inside connexion that no user of the mock can act on (see the
        # filterwarnings notes in pyproject.toml); kept out of the CLI's output and out of test
        # suites that run the pytest plugin with warnings as errors.
        for text in IMPORT_WARNINGS:
            warnings.filterwarnings("ignore", message=text)
        from mock_server.app import create_app
        from mock_server.runtime.worlds import Limits
        from mock_server.store import StoreConfig
        from mock_server.world.loading import collector_paused

    # a large world (a history export) becomes objects faster without the collector, and what
    # the server starts with lives as long as it does: frozen rather than walked once it is on
    with collector_paused():
        world = load_world(settings)
        app = create_app(
            world=world,
            config=StoreConfig(
                base_url=base_url,
                clock_start_ms=settings.clock_start,
                event_log_size=settings.event_log_size,
                max_streams=settings.max_streams or stream_limit(),
            ),
            validate_responses=validate_responses,
            strict=settings.strict,
            journal_size=settings.journal_size,
            latency_ms=settings.latency_ms,
            admin_token=settings.admin_token,
            create_token=settings.create_token,
            webhook_any_host=settings.webhook_any_host,
            webhook_timeout=settings.webhook_timeout,
            max_webhooks=settings.max_webhooks,
            limits=Limits(
                max_worlds=settings.max_worlds,
                idle_timeout_s=settings.world_idle_timeout,
                world_memory_mb=settings.world_memory_mb,
            ),
            stream_keepalive=settings.stream_keepalive,
            stream_lifetime=settings.stream_lifetime,
            shard=settings.shard,
        )
    return app


EVENT_LOOP = "asyncio"
"""asyncio's own event loop, not uvloop (uvicorn's ``auto`` choice when it is installed): with
more connections than one loop iteration serves at once, uvloop leaves some of them waiting many
iterations. A bare uvicorn app burning 0.7 ms per request under wrk's 32 connections: p99 209 ms on
uvloop, 28 ms on asyncio, at the same throughput (docs/performance-report.md)."""


def make_server(app: Any, log_level: str, on_ready: Any, limits: HttpLimits | None = None) -> Any:
    """A uvicorn server that calls ``on_ready()`` once it accepts connections (serving.py: limits)."""
    # The two modules, not the package: ``uvicorn/__init__`` imports its command line (click),
    # which a server started here never runs (server_imports.py defers the package itself).
    from uvicorn.config import Config
    from uvicorn.server import Server as UvicornServer

    from mock_server.serving import uvicorn_options

    class Server(UvicornServer):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            runtime = getattr(app, "runtime", None)
            if runtime is not None:  # webhooks refuse these addresses (runtime/webhooks.py)
                runtime.webhooks.policy.listen_on(
                    sock.getsockname() for server in self.servers for sock in server.sockets
                )
            if not self.should_exit:
                on_ready()

        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            # Open streams never end on their own, and uvicorn waits for open responses: end them
            # first, so SIGTERM still exits at once (mock_server/stream/hub.py).
            close_streams = getattr(app, "close_streams", None)
            if close_streams is not None:
                close_streams()
            await super().shutdown(sockets=sockets)

    config = Config(
        app,
        log_config=None,  # configure_logging() owns the format
        log_level=log_level,
        access_log=False,  # journal.py logs one line per request instead
        timeout_graceful_shutdown=1,  # SIGTERM/SIGINT: open requests get one second, then the server is gone
        lifespan="on",
        ws="none",  # no WebSocket routes: uvicorn need not import a WebSocket protocol
        loop=EVENT_LOOP,
        **uvicorn_options(limits or HttpLimits()),
    )
    return Server(config)


def banner(base_url: str, settings: Settings | None = None, history: list[str] | None = None) -> str:
    settings = settings or Settings()
    if settings.fixtures:
        world = f"fixtures file {settings.fixtures}"
    elif settings.seed == DEFAULT_SEED and settings.sizes == Sizes():
        world = f"default world (seed {DEFAULT_SEED})"
    else:
        s = settings.sizes
        world = (
            f"generated world: seed {settings.seed}, {s.organizations} organizations, {s.users} users, "
            f"{s.flows} flows, {s.messages_per_flow} messages per flow"
        )
    lines = [
        f"flowdock-mock serving on {base_url}",
        f"  {world}{', strict' if settings.strict else ''}",
        f"  main user: {MAIN_USER['email']} / password {MAIN_USER['password']}",
        f"  API token: {MAIN_USER['api_token']}",
        f"  try: curl -u {MAIN_USER['api_token']}: {base_url}/flows",
        f"  control API: {base_url}/_mock/openapi.json"
        + (" (admin token required)" if settings.admin_token else "")
        + f", coverage report: {base_url}/_mock/report",
        *(history or []),
    ]
    return "\n".join(lines) + "\n"
