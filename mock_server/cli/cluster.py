"""``flowdock-mock cluster``: worlds sharded over several mock processes behind HAProxy on one port
(mock_server/cluster/, docs/scaling-worlds.md)."""

from __future__ import annotations

import argparse

from mock_server.settings import OPTIONS, add_serve_arguments, settings_from_args

NAME = "cluster"


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from mock_server.cluster.command import add_arguments

    cluster = sub.add_parser(
        NAME,
        help="serve worlds sharded over several mock processes behind HAProxy on one port",
        description="Start N mock processes (shards s0..sN-1) on private 127.0.0.1 ports and HAProxy in "
        "front on --host:--port, routing each request to the shard its credential names "
        "(docs/scaling-worlds.md). The serve options given are passed to every process.",
    )
    add_serve_arguments(cluster)
    add_arguments(cluster)


def execute(args: argparse.Namespace) -> int:
    from mock_server.cluster import command

    return command.run(args, settings_from_args(args), OPTIONS)
