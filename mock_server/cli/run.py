"""``flowdock-mock run [options] -- COMMAND`` and ``flowdock-mock report JOURNAL``: the command line of
``mock_server/runner.py`` (the mock around a client's test run, and the CI reports)."""

from __future__ import annotations

import argparse

from mock_server.settings import add_serve_arguments, settings_from_args

NAME = "run"
REPORT = "report"


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from mock_server.runner import add_report_arguments

    run_cmd = sub.add_parser(
        NAME,
        help="serve the mock around COMMAND, then write contract reports (JUnit, coverage, HAR)",
        description="Serve the mock on a free 127.0.0.1 port, run COMMAND with FLOWDOCK_API_URL and the "
        "other client variables pointing at it, stop the mock when COMMAND ends, write the reports, and "
        "exit with COMMAND's status (1 when it passed but a gate failed; 127 when it cannot be found).",
        usage="flowdock-mock run [serve options] [report options] -- COMMAND [ARGS...]",
        epilog="run's own defaults: a free port on 127.0.0.1 (only --host/--port and "
        "FLOWDOCK_MOCK_HOST/FLOWDOCK_MOCK_PORT move it, not HOST/PORT), --log-level warning, "
        "--journal-size 10000. COMMAND gets FLOWDOCK_API_URL, FLOWDOCK_STREAM_URL, "
        "HUBOT_FLOWDOCK_API_TOKEN, FLOWDOCK_MOCK_URL, FLOWDOCK_MOCK_API_TOKEN and more (README).",
    )
    add_serve_arguments(run_cmd)
    add_report_arguments(run_cmd)
    run_cmd.add_argument("argv", nargs=argparse.REMAINDER, metavar="COMMAND", help="the command to run")
    report = sub.add_parser(
        REPORT,
        help="render the reports of `run` from a saved journal (GET /_mock/requests output)",
        description="Render JUnit XML, coverage JSON/HTML and HAR from a saved journal, and check the gates.",
    )
    report.add_argument(
        "journal_file", metavar="JOURNAL", help="the saved journal, JSON; - reads standard input"
    )
    report.add_argument(
        "--strict",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="judge legacy request forms as failures, as a strict-mode run does [env FLOWDOCK_MOCK_STRICT]",
    )
    add_report_arguments(report)


def execute(args: argparse.Namespace) -> int:
    from mock_server import runner

    if args.command == REPORT:
        return runner.report(args)
    command = args.argv[1:] if args.argv[:1] == ["--"] else args.argv
    return runner.run(
        runner.run_settings(args, settings_from_args(args)), runner.report_options(args), command
    )
