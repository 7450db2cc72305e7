"""The command line: options and their environment variables, the world they select, logging."""

from __future__ import annotations

import json
import logging
import socket
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from mock_server import cli, launch
from mock_server.cli import parse_args
from mock_server.logs import JsonFormatter
from mock_server.serving import HttpLimits
from mock_server.settings import OPTIONS, Settings, UsageError, settings_from_args
from mock_server.world import DEFAULT_SEED, Sizes

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def no_mock_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts from an environment with none of the mock's variables."""
    import os

    for name in list(os.environ):
        if name.startswith("FLOWDOCK_MOCK_") or name in ("HOST", "PORT"):
            monkeypatch.delenv(name)


def settings(*argv: str) -> Settings:
    return settings_from_args(parse_args(list(argv)))


# --- help ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("flag", "variables"), [(o.flag, o.env) for o in OPTIONS], ids=[o.flag for o in OPTIONS]
)
def test_help__documents_every_option_and_its_variables(
    flag: str, variables: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    for argv in (["--help"], ["serve", "--help"]):
        with pytest.raises(SystemExit) as exit_:
            parse_args(argv)
        assert exit_.value.code == 0
        text = " ".join(capsys.readouterr().out.split())
        assert f"--{flag}" in text
        for name in variables:
            assert name in text


def test_help__lists_the_health_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_args(["--help"])

    assert "health" in capsys.readouterr().out


def test_help__the_epilog_is_formatted_only_for_the_help(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # every start parses its command line; formatting every serve option's help is for --help
    def unused() -> str:
        raise AssertionError("the epilog was formatted without --help")

    monkeypatch.setattr(cli, "epilog", unused)
    assert parse_args(["serve", "--port", "1"]).port == "1"
    assert parse_args(["--port", "1"]).command == "serve"
    monkeypatch.undo()
    with pytest.raises(SystemExit):
        parse_args(["--help"])
    assert "examples:" in capsys.readouterr().out


# --- flags, environment, defaults ---------------------------------------------------------------
def test_settings__defaults() -> None:
    assert settings() == Settings()
    assert settings("serve") == Settings(host="127.0.0.1", port=8080, seed=DEFAULT_SEED, journal_size=1000)


def test_settings__every_variable_is_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name, value in {
        "HOST": "0.0.0.0",
        "PORT": "9000",
        "FLOWDOCK_MOCK_PUBLIC_URL": "http://flowdock:9000/",
        "FLOWDOCK_MOCK_SEED": "7",
        "FLOWDOCK_MOCK_ORGANIZATIONS": "3",
        "FLOWDOCK_MOCK_USERS": "20",
        "FLOWDOCK_MOCK_FLOWS": "9",
        "FLOWDOCK_MOCK_MESSAGES_PER_FLOW": "5",
        "FLOWDOCK_MOCK_STRICT": "yes",
        "FLOWDOCK_MOCK_LATENCY_MS": "25",
        "FLOWDOCK_MOCK_JOURNAL_SIZE": "50",
        "FLOWDOCK_MOCK_LOG_FORMAT": "JSON",
        "FLOWDOCK_MOCK_LOG_LEVEL": "debug",
        "FLOWDOCK_MOCK_ADMIN_TOKEN": "tok",
        "FLOWDOCK_MOCK_MAX_WORLDS": "12",
        "FLOWDOCK_MOCK_WORLD_IDLE_TIMEOUT": "0",
        "FLOWDOCK_MOCK_MAX_HEADER_BYTES": "8192",
        "FLOWDOCK_MOCK_MAX_HEADERS": "50",
        "FLOWDOCK_MOCK_HEADER_TIMEOUT": "3",
        "FLOWDOCK_MOCK_KEEP_ALIVE_TIMEOUT": "30",
    }.items():
        monkeypatch.setenv(name, value)

    assert settings() == Settings(
        host="0.0.0.0",
        port=9000,
        public_url="http://flowdock:9000",
        seed=7,
        sizes=Sizes(organizations=3, users=20, flows=9, messages_per_flow=5),
        strict=True,
        latency_ms=25,
        journal_size=50,
        log_format="json",
        log_level="debug",
        admin_token="tok",
        max_worlds=12,
        world_idle_timeout=0,
        max_header_bytes=8192,
        max_headers=50,
        header_timeout=3,
        keep_alive_timeout=30,
    )


def test_settings__flag_beats_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "9000")
    monkeypatch.setenv("FLOWDOCK_MOCK_STRICT", "1")

    s = settings("--port", "9100", "--no-strict")

    assert (s.port, s.strict) == (9100, False)


def test_settings__prefixed_variable_beats_plain_host_and_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOST", "0.0.0.0")
    monkeypatch.setenv("FLOWDOCK_MOCK_HOST", "127.0.0.2")
    monkeypatch.setenv("PORT", "9000")
    monkeypatch.setenv("FLOWDOCK_MOCK_PORT", "9001")

    assert (settings().host, settings().port) == ("127.0.0.2", 9001)


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        ([], {"PORT": "eighty"}, "PORT='eighty': expected an integer from 0 to 65535"),
        (["--port", "70000"], {}, "--port='70000': expected an integer from 0 to 65535"),
        ([], {"FLOWDOCK_MOCK_USERS": "3"}, "FLOWDOCK_MOCK_USERS='3': expected an integer from 8 to 100000"),
        (
            [],
            {"FLOWDOCK_MOCK_STRICT": "maybe"},
            "FLOWDOCK_MOCK_STRICT='maybe': expected 1/true/yes/on or 0/false/no/off",
        ),
        (["--log-format", "xml"], {}, "--log-format='xml': expected one of text, json"),
        (
            [],
            {"FLOWDOCK_MOCK_LOG_LEVEL": "loud"},
            "FLOWDOCK_MOCK_LOG_LEVEL='loud': expected one of debug, info, warning, error",
        ),
        (["--latency-ms", "-5"], {}, "--latency-ms='-5': expected an integer from 0 to 60000"),
        (["--header-timeout", "0"], {}, "--header-timeout='0': expected an integer from 1 to 3600"),
        (
            [],
            {"FLOWDOCK_MOCK_MAX_HEADER_BYTES": "10"},
            "FLOWDOCK_MOCK_MAX_HEADER_BYTES='10': expected an integer from 1024 to 16777216",
        ),
        (
            ["--fixtures", "w.json", "--seed", "3"],
            {},
            "--fixtures loads a world as it is: it cannot be combined with --seed or dataset sizes",
        ),
    ],
)
def test_settings__bad_value_is_a_usage_error_naming_its_source(
    monkeypatch: pytest.MonkeyPatch, argv: list[str], env: dict[str, str], message: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    with pytest.raises(UsageError) as exc:
        settings(*argv)

    assert str(exc.value) == message


def test_main__usage_error_exits_2_with_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FLOWDOCK_MOCK_JOURNAL_SIZE", "lots")

    assert cli.main(["serve"]) == 2
    assert capsys.readouterr().err == (
        "flowdock-mock: error: FLOWDOCK_MOCK_JOURNAL_SIZE='lots': expected an integer from 0 to 1000000\n"
    )


# --- the world ----------------------------------------------------------------------------------
def test_load_world__default_seed_and_sizes_serve_the_committed_file() -> None:
    assert launch.load_world(settings()) is None


def test_load_world__another_seed_generates_another_world() -> None:
    world = launch.load_world(settings("--seed", "7"))

    assert world is not None
    assert world["seed"] == 7
    assert world["users"][0]["email"] == "alice@example.com"


def test_load_world__sizes_shape_the_generated_world() -> None:
    world = launch.load_world(
        settings("--users", "12", "--flows", "8", "--organizations", "3", "--messages-per-flow", "4")
    )

    assert world is not None
    assert len(world["users"]) == 12
    assert len(world["flows"]) == 8
    assert len(world["organizations"]) == 3


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_load_world__fixtures_file_in_json_or_yaml(tmp_path: Path, suffix: str) -> None:
    doc = json.loads((ROOT / "fixtures" / "default-world.json").read_text(encoding="utf-8"))
    doc["users"][0]["name"] = "Alice From A File"
    path = tmp_path / f"world{suffix}"
    path.write_text(json.dumps(doc) if suffix == ".json" else yaml.safe_dump(doc), encoding="utf-8")

    world = launch.load_world(settings("--fixtures", str(path)))

    assert world is not None
    assert world["users"][0]["name"] == "Alice From A File"


def test_load_world__invalid_fixtures_file_names_each_problem(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("users:\n  - id: 1\n    email: a@example.com\norganizations: []\n", encoding="utf-8")

    with pytest.raises(UsageError) as exc:
        launch.load_world(settings("--fixtures", str(path)))

    assert str(exc.value).splitlines() == [
        f"fixtures file {path} is not a valid world document (schema: fixtures/world.schema.json):",
        "  base: 'flows' is a required property",
        "  users.0: 'name' is a required property",
        "  users.0: 'nick' is a required property",
        "  users.0: 'password' is a required property",
        "  users.0: 'api_token' is a required property",
    ]


def test_load_world__missing_fixtures_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="No such file or directory"):
        launch.load_world(settings("--fixtures", str(tmp_path / "nope.json")))


def test_load_world__unparseable_json_is_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "w.json"
    path.write_text("{not json", encoding="utf-8")

    with pytest.raises(UsageError, match="not valid JSON"):
        launch.load_world(settings("--fixtures", str(path)))


def test_world_schema__accepts_the_default_world() -> None:
    import jsonschema

    schema = json.loads((ROOT / "fixtures" / "world.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)

    jsonschema.validate(
        json.loads((ROOT / "fixtures" / "default-world.json").read_text(encoding="utf-8")), schema
    )


def test_build_app__passes_the_serve_options_to_the_app() -> None:
    s = settings(
        "--strict", "--journal-size", "5", "--latency-ms", "1", "--admin-token", "tok", "--max-worlds", "3"
    )

    app = launch.build_app(s, "http://127.0.0.1:9999")

    assert (app.runtime.journal.size, app.runtime.latency_ms, app.runtime.admin_token) == (5, 1, "tok")
    assert (app.worlds.limits.max_worlds, app.worlds.limits.idle_timeout_s) == (3, 3600)
    assert app.store.config.base_url == "http://127.0.0.1:9999"
    client = app.test_client()
    client.auth = ("a11ce0000000000000000000000000a1", "")
    assert client.get("/flows", params={"bogus": "1"}).status_code == 400  # strict: undeclared parameter


# --- startup and logging ------------------------------------------------------------------------
def test_banner__names_the_url_and_the_default_credentials() -> None:
    text = launch.banner("http://127.0.0.1:8080")

    assert "flowdock-mock serving on http://127.0.0.1:8080" in text
    assert "alice@example.com / password flowdock" in text
    assert "curl -u a11ce0000000000000000000000000a1: http://127.0.0.1:8080/flows" in text


def test_base_url__wildcard_host_is_announced_as_loopback() -> None:
    sock = launch.bind_socket("0.0.0.0", 0)
    try:
        port = sock.getsockname()[1]
        assert launch.base_url_for(Settings(host="0.0.0.0", port=0), sock) == f"http://127.0.0.1:{port}"
        assert (
            launch.base_url_for(Settings(public_url="http://flowdock:8080"), sock) == "http://flowdock:8080"
        )
    finally:
        sock.close()


def test_bind_socket__listens_at_once_so_a_client_connecting_during_the_start_is_not_refused() -> None:
    sock = launch.bind_socket("127.0.0.1", 0)
    try:
        # nothing serves yet: the kernel completes the connection and holds it for the server
        client = socket.create_connection(sock.getsockname(), timeout=5)
        client.sendall(b"GET /flows HTTP/1.1\r\nHost: x\r\n\r\n")
        accepted, _ = sock.accept()
        with client, accepted:
            accepted.settimeout(5)
            assert accepted.recv(64).startswith(b"GET /flows HTTP/1.1")
    finally:
        sock.close()


def test_json_log_format__one_object_per_line_with_the_request_fields() -> None:
    record = logging.LogRecord(
        "flowdock_mock.access", logging.INFO, __file__, 1, "GET /flows 200", None, None
    )
    record.http = {"method": "GET", "path": "/flows", "status": 200, "operationId": "listFlows"}

    line = JsonFormatter().format(record)

    parsed: dict[str, Any] = json.loads(line)
    assert "\n" not in line
    assert parsed["message"] == "GET /flows 200"
    assert parsed["level"] == "info"
    assert (parsed["method"], parsed["path"], parsed["status"], parsed["operationId"]) == (
        "GET",
        "/flows",
        200,
        "listFlows",
    )


# --- packaging ----------------------------------------------------------------------------------
def test_pyproject__ships_every_package_and_the_pytest_plugin() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    packages = set(project["tool"]["setuptools"]["packages"])
    on_disk = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for p in (ROOT / "mock_server").rglob("__init__.py")
        if p.parent.name[0] != "_"
    }

    assert on_disk <= packages
    assert project["project"]["entry-points"]["pytest11"] == {"flowdock_mock": "mock_server.pytest_plugin"}
    assert project["project"]["scripts"]["flowdock-mock"] == "mock_server.cli:main"


def test_settings__limits_are_the_server_s_http_limits() -> None:
    limits = settings("--max-header-bytes", "2048", "--max-headers", "9", "--keep-alive-timeout", "7").limits
    assert limits == HttpLimits(max_header_bytes=2048, max_headers=9, header_timeout=10, keep_alive_timeout=7)


def test_settings__a_create_token_with_its_admin_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWDOCK_MOCK_CREATE_TOKEN", "make")
    with pytest.raises(UsageError, match="--create-token needs --admin-token"):
        settings()
    s = settings("--admin-token", "tok")
    assert (s.admin_token, s.create_token) == ("tok", "make")
    client = launch.build_app(s, "http://127.0.0.1:9999").test_client()
    assert client.post("/_mock/worlds", json={}).status_code == 401
    assert client.post("/_mock/worlds", json={}, headers={"Authorization": "Bearer make"}).status_code == 201


def test_fd_limit__raised_to_the_hard_limit_and_streams_stay_below_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import resource

    cli = launch
    limits = {"now": (1024, 4096)}
    monkeypatch.setattr(resource, "getrlimit", lambda _: limits["now"])
    monkeypatch.setattr(resource, "setrlimit", lambda _, value: limits.update(now=value))
    assert cli.stream_limit() == 1024 - cli.FD_RESERVE
    assert cli.raise_fd_limit() == 4096 and limits["now"] == (4096, 4096)
    assert cli.stream_limit() == 4096 - cli.FD_RESERVE

    def refuse(*_: object) -> None:
        raise ValueError("not allowed")

    limits["now"] = (1024, 4096)
    monkeypatch.setattr(resource, "setrlimit", refuse)
    assert cli.raise_fd_limit() == 1024  # not allowed here: kept
    limits["now"] = (1 << 20, 1 << 20)
    assert cli.stream_limit() == cli.MAX_DEFAULT_STREAMS


def test_max_streams__flag_and_variable(monkeypatch: pytest.MonkeyPatch) -> None:

    assert settings_from_args(parse_args(["--max-streams", "50"])).max_streams == 50
    monkeypatch.setenv("FLOWDOCK_MOCK_MAX_STREAMS", "7")
    assert settings_from_args(parse_args([])).max_streams == 7
    assert settings_from_args(parse_args(["--world-memory-mb", "64"])).world_memory_mb == 64


def test_serve__the_collector_is_off_while_starting_and_on_once_serving(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # serve() pauses the cyclic GC while it imports and builds, and turns it on again once the
    # server accepts connections (the banner), or when the start fails.
    import gc

    from mock_server.cli import serve as serve_command

    seen: dict[str, bool] = {}

    class Stub:
        def __init__(self, ready: Any) -> None:
            self.ready = ready

        def run(self, sockets: Any) -> None:
            seen["building"] = gc.isenabled()
            self.ready()
            seen["serving"] = gc.isenabled()

    monkeypatch.setattr(serve_command, "configure_logging", lambda *args: None)  # this process's own
    monkeypatch.setattr(serve_command, "build_app", lambda settings, base_url: object())
    monkeypatch.setattr(serve_command, "make_server", lambda app, level, ready, limits: Stub(ready))
    monkeypatch.setattr(serve_command, "banner_text", lambda *args: "")
    assert gc.isenabled()
    assert serve_command.serve(Settings(host="127.0.0.1", port=0)) == 0
    assert seen == {"building": False, "serving": True}
    assert gc.isenabled()

    monkeypatch.setattr(serve_command, "make_server", lambda *args: (_ for _ in ()).throw(RuntimeError))
    with pytest.raises(RuntimeError):
        serve_command.serve(Settings(host="127.0.0.1", port=0))
    assert gc.isenabled()  # a failed start leaves the program's collector as it was

    gc.disable()  # a program that runs without the collector keeps it off
    try:
        monkeypatch.setattr(serve_command, "make_server", lambda app, level, ready, limits: Stub(ready))
        serve_command.serve(Settings(host="127.0.0.1", port=0))
        assert seen == {"building": False, "serving": False}
    finally:
        gc.enable()
