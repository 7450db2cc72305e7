"""The command line: ``serve --history`` (flags and FLOWDOCK_MOCK_HISTORY), ``--history-users``,
the banner's credentials, a broken archive stopping the start, and ``history export``."""

from __future__ import annotations

import io
import json
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from mock_server import cli, launch
from mock_server.history.synthetic import Export, generate
from mock_server.settings import Settings, UsageError, settings_from_args


@pytest.fixture(scope="module")
def export() -> Export:
    return generate(120, seed=13)


@pytest.fixture
def archive(tmp_path: Path, export: Export) -> Path:
    return export.write_zip(tmp_path / "engineering-2023-08-01.zip")


def settings(argv: list[str]) -> Settings:
    return settings_from_args(cli.parse_args(["serve", *argv]))


def test_history_flags_are_repeatable_and_the_slug_comes_from_the_name(tmp_path: Path, archive: Path) -> None:
    other = generate(30, seed=14).write_zip(tmp_path / "ops-2022-02-02.zip")
    s = settings(["--history", f"acme/eng={archive}", "--history", str(other)])
    assert s.history == (f"acme/eng={archive}", str(other))
    doc = launch.load_world(s)
    assert doc is not None
    assert [(e.organization, e.flow) for e in s.history_loaded] == [("acme", "eng"), ("history", "ops")]


def test_the_environment_variable_holds_several(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, archive: Path
) -> None:
    other = generate(30, seed=15).write_zip(tmp_path / "ops-2022-02-02.zip")
    monkeypatch.setenv("FLOWDOCK_MOCK_HISTORY", f"acme/eng={archive}\n{other}")
    assert settings([]).history == (f"acme/eng={archive}", str(other))
    assert settings(["--history", str(other)]).history == (str(other),)  # the flag wins


def test_the_banner_lists_each_flow_and_its_users_credentials(
    archive: Path, export: Export, tmp_path: Path
) -> None:
    users = tmp_path / "users.json"
    users.write_text(json.dumps(export.users_file()))
    s = settings(["--history", f"initech/eng={archive}", "--history-users", str(users)])
    app = launch.build_app(s, "http://127.0.0.1:9")
    from mock_server.history_cli import banner_lines

    text = launch.banner("http://127.0.0.1:9", s, banner_lines(s.history_loaded, app.store))
    assert f"history initech/eng from engineering-2023-08-01.zip: {len(export.messages)} messages" in text
    first = app.store.users.by_id[export.posters[0]]
    assert f"Person 0: {first.email} / password flowdock, API token {first.api_token}" in text
    c = app.test_client()
    c.auth = (first.api_token, "")
    assert c.get("/flows/initech/eng").json()["id"] == export.flow_id


def test_a_broken_archive_stops_the_start_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad-2020-01-01.zip"
    bad.write_bytes(b"PK\x03\x04 cut")
    assert cli.main(["serve", "--port", "0", "--history", f"acme/bad={bad}"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("flowdock-mock: error: history archive bad-2020-01-01.zip: is a truncated zip")
    assert "nothing was loaded" in err


def test_the_loaded_world_passes_every_check_of_a_world_document(
    tmp_path: Path, archive: Path, export: Export
) -> None:
    """Loading skips the full walk of uniqueness and references (they hold by construction);
    this is the check that they do."""
    from mock_server.world.documents import document_problems

    other = generate(40, seed=16).write_zip(tmp_path / "ops-2022-02-02.zip")
    doc = launch.load_world(
        settings(["--history", f"acme/eng={archive}", "--history", f"initech/ops={other}"])
    )
    assert doc is not None and document_problems(doc) == {}
    assert sum(1 for m in doc["messages"] if m["flow"] == export.flow_id) == len(export.messages)


def test_what_no_client_could_read_back_stops_the_start(tmp_path: Path, export: Export) -> None:
    records = [dict(m) for m in export.messages]
    records[5]["content"] = "\ud800 lone"
    bad = tmp_path / "lone-2020-01-01.zip"
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr("messages.json", json.dumps(records))
    with pytest.raises(UsageError, match=r"not a valid world document:\n  messages\.\d+\.content: "):
        launch.load_world(settings(["--history", f"acme/lone={bad}"]))


def test_history_users_needs_history(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="--history-users"):
        settings(["--history-users", str(tmp_path / "u.json")])


def test_history_export_writes_a_flow_and_it_round_trips(tmp_path: Path, archive: Path, capsys: Any) -> None:
    first, second = tmp_path / "first.zip", tmp_path / "second.zip"
    assert cli.main(["history", "export", "acme/eng", str(first), "--history", f"acme/eng={archive}"]) == 0
    assert "wrote" in capsys.readouterr().out
    assert cli.main(["history", "export", "acme/eng", str(second), "--history", f"acme/eng={first}"]) == 0
    with zipfile.ZipFile(first) as a, zipfile.ZipFile(second) as b:
        assert a.read("messages.json") == b.read("messages.json")


def test_history_export_of_a_faker_flow(tmp_path: Path) -> None:
    out = tmp_path / "main.zip"
    assert cli.main(["history", "export", "acme/main", str(out)]) == 0
    with zipfile.ZipFile(io.BytesIO(out.read_bytes())) as zf:
        assert json.loads(zf.read("messages.json"))[0]["user"] == "1"


def test_history_export_of_an_unknown_flow(tmp_path: Path, capsys: Any) -> None:
    assert cli.main(["history", "export", "acme/nope", str(tmp_path / "x.zip")]) == 2
    assert "the world has no flow acme/nope" in capsys.readouterr().err


def test_a_served_export__credentials_printed_listed_and_in_a_created_world(
    tmp_path: Path, archive: Path, export: Export
) -> None:
    """The real process: FLOWDOCK_MOCK_HISTORY read from the environment, each history user's
    credentials printed at start and listed in GET /_mock/worlds/default, and a world created
    from the default one holds the export too, with credentials of its own."""
    import base64
    import urllib.request

    from tests.clients.test_lifecycle import Server, clean_env, free_port

    def call(method: str, path: str, token: str | None = None, body: Any = None) -> Any:
        request = urllib.request.Request(server.url + path, method=method)
        if token is not None:
            request.add_header("Authorization", "Basic " + base64.b64encode(f"{token}:".encode()).decode())
        if body is not None:
            request.add_header("Content-Type", "application/json")
            request.data = json.dumps(body).encode()
        with urllib.request.urlopen(request, timeout=30) as r:
            return json.loads(r.read())

    port = free_port()
    command = [str(Path(sys.executable).parent / "flowdock-mock"), "serve", "--port", str(port)]
    server = Server(command, clean_env(FLOWDOCK_MOCK_HISTORY=f"acme/eng={archive}"), port)
    try:
        server.wait_ready()
        printed = "".join(server.out)
        assert f"history acme/eng from {archive.name}: {len(export.messages)} messages" in printed
        listed = {u["id"]: u for u in call("GET", "/_mock/worlds/default")["credentials"]["users"]}
        first = listed[export.posters[0]]
        assert (
            f"{first['name']}: {first['email']} / password flowdock, API token {first['api_token']}"
            in printed
        )
        assert call("GET", "/flows/acme/eng", first["api_token"])["id"] == export.flow_id

        created = call("POST", "/_mock/worlds", body={})
        own = {u["id"]: u for u in created["credentials"]["users"]}[export.posters[0]]
        assert own["api_token"] != first["api_token"]
        page = call("GET", "/flows/acme/eng/messages?limit=100&since_id=0&sort=asc", own["api_token"])
        assert [m["id"] for m in page] == [m["id"] for m in export.messages[:100]]
    finally:
        server.close()
