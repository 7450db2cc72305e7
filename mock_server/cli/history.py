"""``flowdock-mock history export ORG/FLOW OUT.zip``: a flow of the world the serve options describe,
written as a Flowdock flow export (docs/history.md)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from mock_server.launch import load_world
from mock_server.settings import UsageError, add_serve_arguments, settings_from_args

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
    return export(settings_from_args(args), args.flow, args.out)


def export(settings: Any, flow: str, out: str) -> int:
    """``flowdock-mock history export ORG/FLOW OUT.zip``: the flow of the world ``settings``
    describe (the serve options: --fixtures, --seed, --history, ...) written as an export."""
    from mock_server.contract import load_default_world
    from mock_server.history import gc_paused
    from mock_server.history.export import export_zip
    from mock_server.store import Store

    organization, _, name = flow.partition("/")
    if not organization or not name:
        raise UsageError(f"history export {flow!r}: name the flow as ORG/FLOW")
    with gc_paused():
        store = Store(load_world(settings) or load_default_world())
    found = store.flows.find(organization, name)
    if found is None:
        raise UsageError(f"history export: the world has no flow {flow}")
    count = len(store.messages.log(found.id).messages)
    data = export_zip(store, organization, name)
    try:
        with open(out, "wb") as fh:
            fh.write(data)
    except OSError as exc:
        raise UsageError(f"history export: cannot write {out}: {exc.strerror or exc}") from None
    sys.stdout.write(f"wrote {out}: {flow}, {count:,} messages, {len(data):,} bytes\n")
    return 0
