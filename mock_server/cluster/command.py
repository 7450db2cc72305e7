"""``flowdock-mock cluster``: its own options and what it runs (the CLI wires it, mock_server/cli/cluster.py).

Three ways to run it:

- ``flowdock-mock cluster --processes N [serve options]``: N mock processes and HAProxy in front
  on ``--host``/``--port`` (supervisor.py); every serve option given is passed to each process.
- ``flowdock-mock cluster --print-haproxy-config --shards NAME=HOST:PORT,...``: the HAProxy
  configuration for shards that run elsewhere (Kubernetes pods: add ``--resolvers``), on stdout.
- ``flowdock-mock cluster --aggregate-only --shards NAME=HOST:PORT,...``: only the server that
  answers ``GET /_mock/worlds`` for all shards (beside HAProxy in a router pod).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from collections.abc import Sequence
from typing import Any

from mock_server.cluster.aggregate import Aggregator
from mock_server.cluster.haproxy import Shard, haproxy_config, parse_shards
from mock_server.cluster.supervisor import Cluster, ClusterError, ClusterOptions

__all__ = ["add_arguments", "forwarded", "print_command", "run"]

PROCESSES_ENV = "FLOWDOCK_MOCK_CLUSTER_PROCESSES"
MAX_PROCESSES = 64
DEFAULT_AGGREGATOR = "127.0.0.1:8081"
NOT_FORWARDED = frozenset({"host", "port", "public_url", "shard"})
"""Serve options the cluster sets itself for each process (or uses for the proxy)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("cluster options")
    group.add_argument(
        "--processes",
        metavar="N",
        default=None,
        help=f"mock processes (shards s0..sN-1) behind the proxy (default 2) [env {PROCESSES_ENV}]",
    )
    group.add_argument(
        "--haproxy",
        metavar="PATH",
        default=None,
        help="the haproxy executable (default: haproxy on PATH or /usr/sbin)",
    )
    group.add_argument(
        "--haproxy-config",
        metavar="FILE",
        default=None,
        help="write the generated haproxy.cfg here and keep it",
    )
    group.add_argument(
        "--print-haproxy-config",
        action="store_true",
        help="print the HAProxy configuration for --shards (listening on --host:--port) and exit",
    )
    group.add_argument(
        "--aggregate-only",
        action="store_true",
        help="serve only GET /_mock/worlds for --shards on --host:--port (the router pod's sidecar)",
    )
    group.add_argument(
        "--shards",
        metavar="NAME=HOST:PORT,...",
        default=None,
        help="shards that run elsewhere, the first owning the default world (for the two options above)",
    )
    group.add_argument(
        "--aggregator",
        metavar="HOST:PORT",
        default=DEFAULT_AGGREGATOR,
        help=f"where HAProxy reaches the aggregator, with --print-haproxy-config (default {DEFAULT_AGGREGATOR})",
    )
    group.add_argument(
        "--resolvers",
        action="store_true",
        help="with --print-haproxy-config: shard addresses are DNS names HAProxy re-resolves (Kubernetes)",
    )


def processes_of(args: argparse.Namespace) -> int:
    raw = args.processes if args.processes is not None else os.environ.get(PROCESSES_ENV, "2")
    source = "--processes" if args.processes is not None else PROCESSES_ENV
    text = str(raw).strip()
    if not (text.isascii() and text.isdigit() and 1 <= int(text) <= MAX_PROCESSES):
        raise ValueError(f"{source}={raw!r}: expected an integer from 1 to {MAX_PROCESSES}")
    return int(text)


def forwarded(args: argparse.Namespace, options: Sequence[Any]) -> list[str]:
    """The serve flags given on the command line, for each mock process (the environment is
    inherited as it is)."""
    argv: list[str] = []
    for option in options:
        value = getattr(args, option.dest, None)
        if value is None or option.dest in NOT_FORWARDED:
            continue
        if option.kind == "switch":
            argv.append(f"--{option.flag}" if value else f"--no-{option.flag}")
        else:
            argv += [f"--{option.flag}", str(value)]
    return argv


def print_command(shards: Sequence[Shard], host: str, port: int, aggregator: str, resolvers: bool) -> str:
    """The command line that prints this configuration (its first comment: how to regenerate it)."""
    listed = ",".join(f"{shard.name}={shard.address}" for shard in shards)
    return (
        f"flowdock-mock cluster --print-haproxy-config{' --resolvers' if resolvers else ''} "
        f"--host {host} --port {port} --aggregator {aggregator} \\\n    --shards {listed}"
    )


def _shards(args: argparse.Namespace, what: str) -> list[Shard]:
    if not args.shards:
        raise ValueError(f"{what} needs --shards NAME=HOST:PORT,...")
    return parse_shards(args.shards)


def run(args: argparse.Namespace, settings: Any, options: Sequence[Any]) -> int:
    """The command; ``settings`` are the merged serve settings (host, port, public URL)."""
    try:
        if args.print_haproxy_config:
            shards = _shards(args, "--print-haproxy-config")
            bind = f"{settings.host}:{settings.port}"
            sys.stdout.write(
                haproxy_config(
                    shards,
                    bind=bind,
                    aggregator=args.aggregator,
                    resolvers=args.resolvers,
                    header=print_command(
                        shards, settings.host, settings.port, args.aggregator, args.resolvers
                    ),
                )
            )
            return 0
        if args.aggregate_only:
            return _aggregate(_shards(args, "--aggregate-only"), settings.host, settings.port)
        cluster = Cluster(
            ClusterOptions(
                processes=processes_of(args),
                host=settings.host,
                port=settings.port,
                public_url=settings.public_url,
                serve_args=forwarded(args, options),
                haproxy=args.haproxy,
                config_path=args.haproxy_config,
            )
        )
        cluster.start()
    except (ValueError, ClusterError) as exc:  # a bad option (2), or it could not start (1)
        sys.stderr.write(f"flowdock-mock cluster: error: {exc}\n")
        return 2 if isinstance(exc, ValueError) else 1
    sys.stdout.write(cluster.banner())
    sys.stdout.flush()
    return cluster.supervise()


def _aggregate(shards: list[Shard], host: str, port: int) -> int:
    aggregator = Aggregator(shards, host, port).start()
    sys.stdout.write(
        f"flowdock-mock cluster: GET /_mock/worlds of {len(shards)} shards on http://{aggregator.address}\n"
    )
    sys.stdout.flush()
    stopping: list[int] = []  # appended to by the handler: no lock (supervisor.py, Cluster._stopping)
    previous = {
        sig: signal.signal(sig, lambda signum, _: stopping.append(signum))
        for sig in (signal.SIGTERM, signal.SIGINT)
    }
    try:
        while not stopping:
            time.sleep(0.2)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        aggregator.stop()
    return 0
