"""server_imports.py: a serving process leaves the unused libraries unimported and still answers.

Leaving modules unimported changes the import state of the whole process, so each check runs in a
fresh interpreter: it leaves them out, builds the app as ``serve`` does, and serves requests that
reach every part the server does use (the API, the published specs in JSON and YAML, Swagger UI).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(
    """
    import asyncio, base64, json, sys
    from mock_server.server_imports import ABSENT, DEFERRED, leave_unimported
    leave_unimported()
    from mock_server.app import create_app
    from mock_server.world import MAIN_USER

    app = create_app()
    auth = b"Basic " + base64.b64encode(f"{MAIN_USER['api_token']}:".encode())

    async def get(path, method="GET"):
        scope = {"type": "http", "method": method, "path": path, "raw_path": path.encode(),
                 "query_string": b"", "root_path": "", "http_version": "1.1", "scheme": "http",
                 "server": ("127.0.0.1", 80), "client": ("127.0.0.1", 1),
                 "headers": [(b"host", b"127.0.0.1"), (b"authorization", auth)]}
        out = []
        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}
        async def send(message):
            out.append(message)
        await app(scope, receive, send)
        body = b"".join(m.get("body", b"") for m in out if m["type"] == "http.response.body")
        return out[0]["status"], body

    status = {}
    status["flows"] = asyncio.run(get("/flows"))[0]
    left_out = {name: name in sys.modules for name in ABSENT}
    by_first_answer = {name: name in sys.modules for name in ("email.parser", "html.entities", "http.server", "re2")}
    stand_ins = {name: type(sys.modules[name]).__name__ for name in DEFERRED if name in sys.modules}
    for path in ("/openapi.json", "/openapi.yaml", "/_mock/swagger/"):
        code, body = asyncio.run(get(path))
        status[path] = [code, len(body)]
    code, body = asyncio.run(get("/no/such/path"))  # Flowdock's error shape
    status["unknown"] = [code, json.loads(body)]
    code, body = asyncio.run(get("/flows", "PATCH"))  # Starlette's 405 reads http.client's reason phrases
    status["wrong method"] = [code, json.loads(body)]
    # the other standard-library stand-ins, on the paths that read them: Starlette's cookie parser,
    # its debug page's escaping, connexion.json_schema's file references
    from starlette.requests import cookie_parser
    from starlette.middleware.errors import ServerErrorMiddleware
    import connexion.json_schema, http, urllib
    try:
        raise ValueError("<boom>")
    except ValueError as exc:
        page = ServerErrorMiddleware(app, debug=True).generate_html(exc)
    status["rarer"] = [cookie_parser('a="b\\"c"; d=e'), "&lt;boom&gt;" in page,
                       urllib.request.url2pathname("/x%20y"), http.client.responses[404],
                       type(http.cookies).__name__, type(sys.modules["html"]).__name__]
    from mock_server.launch import make_server
    make_server(app, "warning", lambda: None).config.load()  # the lifespan and protocol classes
    heavy = {name: name in sys.modules for name in ("click", "uvicorn.main", "websockets", "http.server", "a2wsgi",
                                                   "logging.handlers", "socketserver")}
    wsgi_stand_in = type(sys.modules["uvicorn.middleware.wsgi"]).__name__
    import logging
    import uvicorn.config
    status["rarer"] += [logging.config.valid_ident("a"), type(sys.modules["logging.config"]).__name__,
                        type(uvicorn.config.RawConfigParser()).__name__, type(sys.modules["configparser"]).__name__]
    from starlette.testclient import TestClient
    client = TestClient(app)  # a stand-in's named attribute imports the real module when called
    wrapped = uvicorn.config.WSGIMiddleware(lambda environ, start_response: [])
    wsgi = type(wrapped) is sys.modules["uvicorn.middleware.wsgi"].WSGIMiddleware  # the real module's class
    print(json.dumps({"status": status, "imported": left_out, "stand_ins": stand_ins, "first": by_first_answer,
                      "client": type(client).__module__, "heavy": heavy, "wsgi": [wsgi_stand_in, wsgi]}))
    """
)


@pytest.fixture(scope="module")
def served() -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=180, check=False
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_the_absent_modules_are_never_imported(served: dict[str, object]) -> None:
    assert served["imported"] == {
        "httpx._main": False,
        "flask": False,
        "connexion.apps.flask": False,
        "connexion.frameworks.flask": False,
    }


def test_the_first_answer_needs_no_email_parser_html_entities_or_http_server(
    served: dict[str, object],
) -> None:
    # http.client (Starlette's reason phrases) imports the email package; html its entities table;
    # werkzeug its development server: none of them is imported before a 404 or a debug page needs it
    assert served["first"] == {
        "email.parser": False,
        "html.entities": False,
        "http.server": False,
        "re2": False,
    }


def test_the_deferred_modules_stay_stand_ins_while_the_api_answers(served: dict[str, object]) -> None:
    assert served["stand_ins"] == dict.fromkeys(
        (
            "starlette.testclient",
            "requests",
            "httpx",
            "uvicorn",
            "jinja2",
            "werkzeug.serving",
            "werkzeug.test",
            "werkzeug.wrappers",
            "werkzeug.wsgi",
            "uvicorn.middleware.wsgi",
            "http.client",
            "http.cookies",
            "html",
            "urllib.request",
            "logging.config",
            "configparser",
        ),
        "_StandIn",
    )


def test_everything_the_server_uses_still_answers(served: dict[str, object]) -> None:
    status = served["status"]
    assert isinstance(status, dict)
    assert status["flows"] == 200
    for path in ("/openapi.json", "/openapi.yaml", "/_mock/swagger/"):
        code, size = status[path]
        assert code == 200 and size > 1000, (path, code, size)
    assert status["unknown"] == [404, {"message": "not found"}]
    assert status["wrong method"][0] == 405
    # each stand-in, read, is the real module from then on (in sys.modules and its package)
    assert status["rarer"] == [
        {"a": 'b"c', "d": "e"},
        True,
        "/x y",
        "Not Found",
        "module",
        "module",
        True,
        "module",
        "RawConfigParser",
        "module",
    ]


def test_the_server_loads_without_uvicorns_command_line_or_websockets(served: dict[str, object]) -> None:
    # uvicorn.lifespan imports Config from the package, whose __init__ imports its click command
    # line; the WebSocket protocol is imported unless ws="none"; werkzeug's package imports its
    # development server (http.server); uvicorn.config imports logging.config (logging.handlers,
    # socketserver) for a log_config the mock never gives it: none of them runs in the mock.
    assert served["heavy"] == {
        "click": False,
        "uvicorn.main": False,
        "websockets": False,
        "http.server": False,
        "a2wsgi": False,
        "logging.handlers": False,
        "socketserver": False,
    }


def test_a_deferred_name_called_is_the_real_thing(served: dict[str, object]) -> None:
    assert served["client"] == "starlette.testclient"
    # uvicorn.config's WSGIMiddleware (a stand-in's name inside a stand-in package) is uvicorn's
    assert served["wsgi"] == ["_StandIn", True]


ENTRY = textwrap.dedent(
    """
    import dataclasses, json, sys
    from mock_server import cli, generated_code
    from mock_server.server_imports import ABSENT
    kept, keep = [], generated_code.keep
    generated_code.keep = lambda: (kept.append(True), keep())
    argv = ["serve", "--port", "0", "--history", "acme/x=/nonexistent/x-2020-01-01.zip"]
    code = cli.main(argv) if sys.argv[1] == "called" else (sys.argv.__setitem__(slice(1, None), argv), cli.main())[1]
    print(json.dumps({"code": code, "finders": [type(f).__name__ for f in sys.meta_path],
                      "tables kept": bool(kept), "dataclasses' exec": "exec" in vars(dataclasses)}))
    """
)


@pytest.mark.parametrize(("how", "left_out"), [("entry", True), ("called", False)])
def test_only_the_process_entry_leaves_modules_out(how: str, left_out: bool) -> None:
    # The console script (main() reading sys.argv) changes its own process's imports, and compiles
    # dataclasses through the cached table; a program calling main([...]) in its own process (a
    # test suite, as tests/history does) keeps both as they were.
    done = subprocess.run(
        [sys.executable, "-c", ENTRY, how], capture_output=True, text=True, timeout=120, check=False
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["code"] == 2, done.stderr  # the archive does not exist: refused before serving
    assert ("_Absent" in result["finders"]) is left_out
    assert result["tables kept"] is left_out  # the tables of compiled code (generated_code.py)
    assert result["dataclasses' exec"] is False  # a start that fails puts the builtin back


def test_a_submodule_is_left_out_without_importing_its_package() -> None:
    # importlib.util.find_spec("werkzeug.serving") imports werkzeug, whose __init__ imports
    # werkzeug.serving: the stand-in must be in place before the package runs.
    script = (
        "import json, sys\n"
        "from mock_server.server_imports import leave_unimported\n"
        "leave_unimported()\n"
        "before = 'werkzeug' in sys.modules\n"
        "import werkzeug\n"
        "print(json.dumps([before, type(sys.modules['werkzeug.serving']).__name__,\n"
        "                  'http.server' in sys.modules, werkzeug.run_simple.__module__]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    before, serving, http_server, _ = json.loads(done.stdout.strip().splitlines()[-1])
    assert (before, serving, http_server) == (False, "_StandIn", False)
