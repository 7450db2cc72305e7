"""``flowdock-mock history export ORG/FLOW OUT.zip``: a flow of the world the serve options describe,
written as a Flowdock flow export (mock_server/history_cli.py, docs/history.md)."""

from __future__ import annotations

import argparse

from mock_server.settings import add_serve_arguments, settings_from_args

NAME = "history"


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    history = sub.add_parser(
        NAME,
        help="Flowdock flow exports: `history export ORG/FLOW OUT.zip` writes a flow of a world as one",
        description="Flowdock flow exports (docs/history.md).",
    )
    history_sub = history.add_subparsers(dest="history_command", metavar="{export}", required=True)
    export = history_sub.add_parser(
        "export",
        help="write a flow of the world the serve options describe as a Flowdock flow export",
        description="Write the flow ORG/FLOW of the world the serve options describe (the default world, "
        "--seed, --fixtures, --history) as a Flowdock flow export: messages.json and the flow's files, zipped.",
    )
    export.add_argument(
        "flow", metavar="ORG/FLOW", help="the flow, by its organization's and its own parameterized name"
    )
    export.add_argument("out", metavar="OUT.zip", help="the archive to write")
    add_serve_arguments(export)


def execute(args: argparse.Namespace) -> int:
    from mock_server.history_cli import export

    return export(settings_from_args(args), args.flow, args.out)
