"""``flowdock-mock converse [options] CONVO_OR_DIR... -- BOT COMMAND``: BotiumScript conversations
played against a bot (mock_server/converse_cli.py, docs/conversations.md)."""

from __future__ import annotations

import argparse

from mock_server.settings import add_serve_arguments, settings_from_args

NAME = "converse"


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from mock_server.converse_cli import add_arguments

    converse = sub.add_parser(
        NAME,
        help="play BotiumScript conversations (*.convo.txt) against a bot COMMAND",
        description="Start the mock (or use --url), and for each convo file: a fresh world, COMMAND started "
        "with run's client variables for the bot user, the conversation played once the bot streams the "
        "flow (docs/conversations.md). Exit 0 only when every run passed.",
        usage="flowdock-mock converse [serve options] [options] CONVO_OR_DIR... -- COMMAND [ARGS...]",
    )
    add_serve_arguments(converse)
    add_arguments(converse)


def execute(args: argparse.Namespace) -> int:
    from mock_server import converse_cli

    return converse_cli.converse(args, lambda: settings_from_args(args))
