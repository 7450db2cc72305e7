"""Command line: ``flowdock-mock serve`` (also ``python -m mock_server``), ``health``, ``run``, ``report``,
``history``, ``cluster`` and ``converse``; one module per command in this package, each with ``NAME``, ``add_parser(sub)`` and
``execute(args)``, listed once in ``COMMANDS``.

The options every serving command shares are one table (``mock_server/settings.py``); building and
starting the server is ``mock_server/launch.py``. Importing this package is cheap (the pytest plugin
imports it lazily): Connexion, uvicorn and Faker are imported only when a server is built.
"""

from __future__ import annotations

import argparse
import sys
from types import ModuleType

from mock_server.cli import cluster, converse, health, history, run, serve
from mock_server.settings import UsageError, add_serve_arguments

COMMANDS: dict[str, tuple[ModuleType, tuple[str, ...]]] = {
    serve.NAME: (serve, (serve.NAME,)),
    health.NAME: (health, (health.NAME,)),
    run.NAME: (run, (run.NAME, run.REPORT)),
    history.NAME: (history, (history.NAME,)),
    cluster.NAME: (cluster, (cluster.NAME,)),
    converse.NAME: (converse, (converse.NAME,)),
}
"""Module -> the subcommand names it adds, in the order of ``--help``."""
EXAMPLES = (
    "  flowdock-mock serve --port 9000\n"
    "  FLOWDOCK_MOCK_SEED=7 FLOWDOCK_MOCK_USERS=50 flowdock-mock serve\n"
    "  flowdock-mock serve --fixtures my-world.yaml --strict --log-format json\n"
    "  flowdock-mock health --url http://127.0.0.1:9000\n"
    "  flowdock-mock run --strict --report-dir reports --fail-on-violation -- pytest tests/\n"
    "  flowdock-mock report journal.json --junit junit.xml\n"
    "  flowdock-mock serve --history acme/eng=engineering-2023-08-01.zip\n"
    "  flowdock-mock history export acme/main main.zip\n"
    "  flowdock-mock cluster --processes 3 --port 9000\n"
)


def command_names() -> list[str]:
    return [name for _, names in COMMANDS.values() for name in names]


def epilog() -> str:
    """The end of ``flowdock-mock --help``: every serve option's help, then examples."""
    options = argparse.ArgumentParser(prog="flowdock-mock serve", add_help=False, usage=argparse.SUPPRESS)
    add_serve_arguments(options)
    options_help = options.format_help().split("\n", 1)[-1]  # drop the "options:" heading
    return (
        "serve options (flag, else environment variable, else default):\n"
        + options_help
        + "\nexamples:\n"
        + EXAMPLES
    )


class _Parser(argparse.ArgumentParser):
    """The top-level parser, whose epilog is formatted when its help is (every start parses the
    command line; formatting every serve option's help took about as long as the parsing)."""

    def format_help(self) -> str:
        if self.epilog is None:
            self.epilog = epilog()
        return super().format_help()


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The command line's parser; with ``command``, only that command's subparser is added (a
    command's parser may import its package: a server's start need not import the cluster's)."""
    parser = _Parser(
        prog="flowdock-mock",
        description="A stateful mock of the Flowdock REST API, faithful to its contract. "
        "With no command, `serve` is assumed.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="{" + ",".join(command_names()) + "}")
    for module, names in COMMANDS.values():
        if command is None or command in names:
            module.add_parser(sub)
    return parser


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The command line, with ``serve`` assumed when no command is given."""
    if not argv or argv[0] not in (*command_names(), "-h", "--help"):
        argv = ["serve", *argv]
    return build_parser(None if argv[0] in ("-h", "--help") else argv[0]).parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run one command. Without ``argv`` this is the process's entry (the console script, ``python -m
    mock_server``): only then does ``serve`` leave the libraries it never runs unimported
    (server_imports.py) and compile what dataclasses generate, and regular expressions, through
    the cached tables (generated_code.py), which changes the whole process's imports; a program calling
    ``main([...])`` (a test suite) keeps its own."""
    args = parse_args(list(sys.argv[1:] if argv is None else argv))
    if argv is None and args.command == serve.NAME:
        from mock_server import generated_code
        from mock_server.server_imports import leave_unimported

        serve.STARTING.pause(whole_process=True)  # from here to the server's first connection (serve.py)
        leave_unimported()
        generated_code.keep()  # until the server accepts connections (serve.py: generated_code.save)
    module = next(module for module, names in COMMANDS.values() if args.command in names)
    try:
        code: int = module.execute(args)
    except UsageError as exc:
        sys.stderr.write(f"flowdock-mock: error: {exc}\n")
        return 2
    return code


if __name__ == "__main__":
    raise SystemExit(main())
