"""The pipeline's loop (middleware/pipeline.py): stages in order, answers, callbacks, errors rendered once."""

from __future__ import annotations

import base64
import json
from typing import Any

import anyio
import pytest

from mock_server import errors
from mock_server.app import create_app
from mock_server.binding.dispatch import Dispatch
from mock_server.middleware.exchange import Exchange
from mock_server.middleware.pipeline import PIPELINE, Pipeline
from mock_server.middleware.responses import json_answer
from mock_server.world import MAIN_USER


@pytest.fixture(scope="module")
def on_error() -> Any:
    app = create_app()
    return Dispatch(app.middleware, app._middleware_app).on_error


class Stage:
    def __init__(self, name: str, log: list[str], run: Any = None, done: bool = False) -> None:
        self.name = name
        self.log = log
        self.action = run
        if done:
            self.done = self._done

    def run(self, x: Exchange) -> Any:
        self.log.append(f"run {self.name}")
        return self.action(x) if self.action is not None else None

    def _done(self, x: Exchange) -> None:
        self.log.append(f"done {self.name}")


def call(pipeline: Pipeline) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def run() -> None:
        scope = {"type": "http", "method": "GET", "path": "/", "headers": [], "query_string": b""}
        await pipeline(scope, receive, send)

    anyio.run(run)
    return sent


def test_stages_run_in_order_until_one_answers_and_callbacks_run_in_reverse(on_error: Any) -> None:
    log: list[str] = []
    pipeline = Pipeline(
        [
            ("a", Stage("a", log, done=True)),
            ("b", Stage("b", log, lambda x: json_answer(418, {"message": "teapot"}), done=True)),
            ("c", Stage("c", log, done=True)),
        ],
        on_error,
    )
    start, body = call(pipeline)
    assert log == ["run a", "run b", "done b", "done a"]
    assert start["status"] == 418
    assert (b"content-type", b"application/json; charset=utf-8") in start["headers"]
    assert json.loads(body["body"]) == {"message": "teapot"}


def test_exception_before_the_response_starts_is_a_flowdock_500_and_callbacks_still_run(
    on_error: Any,
) -> None:
    log: list[str] = []

    def broken(x: Exchange) -> None:
        raise IndexError("pop from empty list")

    pipeline = Pipeline([("a", Stage("a", log, done=True)), ("b", Stage("b", log, broken))], on_error)
    start, body = call(pipeline)
    assert start["status"] == 500
    assert json.loads(body["body"]) == {"message": errors.INTERNAL_ERROR}
    assert log == ["run a", "run b", "done a"]


def test_exception_after_the_response_started_is_not_hidden(on_error: Any) -> None:
    async def half(x: Exchange) -> None:
        await x.send({"type": "http.response.start", "status": 200, "headers": []})
        raise IndexError("late")

    class Half:
        run = staticmethod(half)

    with pytest.raises(IndexError):
        call(Pipeline([("half", Half())], on_error))


def test_every_connexion_stage_is_supplied_by_the_binding() -> None:
    app = create_app()
    supplied = Dispatch(app.middleware, app._middleware_app).stages()
    assert {step.name for step in PIPELINE if step.build is None} == set(supplied)


ALICE = base64.b64encode(f"{MAIN_USER['api_token']}:".encode())


def test_the_journal_has_the_request_before_the_answers_last_bytes_go_out() -> None:
    app = create_app()
    seen: list[list[str]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            seen.append([e["operationId"] for e in app.runtime.journal.list()])

    async def exchange() -> None:
        scope = {
            "type": "http",
            "http_version": "1.1",
            "method": "GET",
            "path": "/flows",
            "raw_path": b"/flows",
            "query_string": b"",
            "root_path": "",
            "scheme": "http",
            "server": ("127.0.0.1", 80),
            "client": ("127.0.0.1", 5555),
            "headers": [(b"host", b"localhost"), (b"authorization", b"Basic " + ALICE)],
        }
        await app(scope, receive, send)

    anyio.run(exchange)
    assert seen == [["listFlows"]]
