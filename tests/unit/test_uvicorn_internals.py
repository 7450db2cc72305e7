"""Every uvicorn internal mock_server/serving.py relies on, checked against the installed uvicorn.

``serving.py`` subclasses uvicorn's httptools and h11 protocols to bound request heads and idle
connections: it overrides the protocol's parser callbacks and reads some of its attributes. None
of that is public API; when a row fails, serving.py is the file to revisit. constraints.txt pins
the uvicorn these rows were checked against.
"""

from __future__ import annotations

import inspect
import re

import pytest
from uvicorn.config import Config
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

METHODS = {
    "connection_made": ("self", "transport"),
    "connection_lost": ("self", "exc"),
    "data_received": ("self", "data"),
    "on_message_begin": ("self",),
    "on_url": ("self", "url"),
    "on_header": ("self", "name", "value"),
    "on_headers_complete": ("self",),
    "on_message_complete": ("self",),
    "on_response_complete": ("self",),
    "_unset_keepalive_if_required": ("self",),
    "timeout_keep_alive_handler": ("self",),
}
"""Overridden or called by serving.py's protocol, with the parameters it passes."""
ATTRIBUTES = (
    "loop",
    "transport",
    "timeout_keep_alive",
    "timeout_keep_alive_task",
    "server_state",
    "flow",
    "pipeline",
)
"""Set by ``HttpToolsProtocol.__init__``/``connection_made`` and read or replaced by serving.py."""
CONFIG_OPTIONS = ("http", "timeout_keep_alive", "h11_max_incomplete_event_size")


@pytest.mark.parametrize("name", sorted(METHODS))
def test_httptools_protocol_method__exists_with_the_parameters_serving_uses(name: str) -> None:
    method = getattr(HttpToolsProtocol, name, None)
    assert callable(method), f"HttpToolsProtocol.{name} is gone: revisit mock_server/serving.py"
    assert tuple(inspect.signature(method).parameters) == METHODS[name]


@pytest.mark.parametrize("name", ATTRIBUTES)
def test_httptools_protocol_attribute__is_set_by_uvicorn(name: str) -> None:
    source = inspect.getsource(HttpToolsProtocol.__init__) + inspect.getsource(
        HttpToolsProtocol.connection_made
    )
    assert re.search(rf"self\.{name}\b[^=\n]*=", source), (
        f"HttpToolsProtocol no longer sets {name}: revisit mock_server/serving.py"
    )


def test_httptools_response_complete__does_what_serving_repeats_around_its_keep_alive_timer() -> None:
    # serving.py's on_response_complete does uvicorn's steps itself when no request is pipelined,
    # with IdleConnections in place of the timer: uvicorn's must still be these steps, no more.
    source = inspect.getsource(HttpToolsProtocol.on_response_complete)
    steps = [
        line.strip()
        for line in source.splitlines()[1:]
        if line.strip() and not line.strip().startswith(("#", '"""'))
    ]
    assert steps == [
        "self.server_state.total_requests += 1",
        "if self.transport.is_closing():",
        "return",
        "self._unset_keepalive_if_required()",
        "self.flow.resume_reading()",
        "if self.pipeline:",
        "cycle, app = self.pipeline.pop()",
        "self._start_asgi_task(cycle, app)",
        "else:",
        "self.timeout_keep_alive_task = self.loop.call_later(",
        "self.timeout_keep_alive, self.timeout_keep_alive_handler",
        ")",
    ], "uvicorn's on_response_complete changed: revisit serving.py's"
    source = inspect.getsource(HttpToolsProtocol._unset_keepalive_if_required)
    assert "self.timeout_keep_alive_task.cancel()" in source  # what IdleMark.cancel answers


@pytest.mark.parametrize("name", CONFIG_OPTIONS)
def test_uvicorn_config__takes_the_options_serving_passes(name: str) -> None:
    assert name in inspect.signature(Config.__init__).parameters


H11_METHODS = {
    "connection_made": ("self", "transport"),
    "connection_lost": ("self", "exc"),
    "data_received": ("self", "data"),
    "on_response_complete": ("self",),
    "send_400_response": ("self", "msg"),
    "timeout_keep_alive_handler": ("self",),
    "handle_events": ("self",),
}
"""Overridden or called by serving.py's h11 protocol, with the parameters it passes."""
H11_ATTRIBUTES = ("loop", "transport", "conn", "timeout_keep_alive", "timeout_keep_alive_task")


@pytest.mark.parametrize("name", sorted(H11_METHODS))
def test_h11_protocol_method__exists_with_the_parameters_serving_uses(name: str) -> None:
    method = getattr(H11Protocol, name, None)
    assert callable(method), f"H11Protocol.{name} is gone: revisit mock_server/serving.py"
    assert tuple(inspect.signature(method).parameters) == H11_METHODS[name]


@pytest.mark.parametrize("name", H11_ATTRIBUTES)
def test_h11_protocol_attribute__is_set_by_uvicorn(name: str) -> None:
    source = inspect.getsource(H11Protocol.__init__) + inspect.getsource(H11Protocol.connection_made)
    assert re.search(rf"self\.{name}\b[^=\n]*=", source), (
        f"H11Protocol no longer sets {name}: revisit mock_server/serving.py"
    )


def test_h11_protocol__parses_through_conn_next_event_and_answers_parse_errors_with_send_400() -> None:
    source = inspect.getsource(H11Protocol.handle_events)
    assert "self.conn.next_event()" in source and "self.send_400_response(" in source


def test_h11__reports_an_endless_head_with_the_431_hint() -> None:
    import h11

    conn = h11.Connection(h11.SERVER, max_incomplete_event_size=100)
    conn.receive_data(b"GET / HTTP/1.1\r\nHost: x\r\nX: " + b"a" * 200)
    with pytest.raises(h11.RemoteProtocolError) as refused:
        conn.next_event()
    assert refused.value.error_status_hint == 431
    assert conn.trailing_data[0]  # what serving.py reads to see a head already begun


@pytest.mark.parametrize("protocol", [HttpToolsProtocol, H11Protocol])
def test_request_cycle__built_from_the_protocols_scope_and_started_as_a_task(protocol: type) -> None:
    # serving.py adds the transport's abort to the scope right after the cycle is made: the cycle
    # must share that scope dict and run in a task started later (a stream's slow consumer).
    source = inspect.getsource(protocol)
    assert "RequestResponseCycle(" in source and "scope=self.scope" in source
    assert "create_task(" in source


@pytest.mark.parametrize(
    "attribute", ["transport", "response_started", "chunked_encoding", "expected_content_length", "scope"]
)
def test_httptools_cycle__writes_through_the_attributes_one_write_reads(attribute: str) -> None:
    # serving.py's OneWrite replaces the cycle's transport before its task starts and reads how
    # the response head it is handed declared the body.
    from uvicorn.protocols.http.httptools_impl import RequestResponseCycle

    source = inspect.getsource(RequestResponseCycle)
    assert re.search(rf"self\.{attribute}\b[^=\n]*=", source), "revisit OneWrite in mock_server/serving.py"
    assert "self.transport.write(" in inspect.getsource(RequestResponseCycle.send)


@pytest.mark.parametrize("protocol", [HttpToolsProtocol, H11Protocol])
def test_every_request_counts_in_the_servers_total_requests(protocol: type) -> None:
    # cli/serve.py's IdleCollector (mock_server/collector.py) reads ``server_state.total_requests``
    # to know whether a request has started since its last look.
    assert "self.server_state.total_requests += 1" in inspect.getsource(protocol)


def test_the_event_loop_keeps_its_ready_callbacks_in_a_queue_turns_reads() -> None:
    # mock_server/turns.py keeps a response to the end of the loop's turn while ``_ready`` holds
    # other work, and writes it at once when it holds none: the queue must be there, and grow
    # with call_soon.
    import asyncio

    loop = asyncio.new_event_loop()
    try:
        ready = loop._ready  # type: ignore[attr-defined]
        before = len(ready)
        loop.call_soon(lambda: None)
        assert len(ready) == before + 1
    finally:
        loop.close()


def test_httptools_shutdown_closes_an_idle_connection_through_the_protocols_transport() -> None:
    # serving.py's protocol writes the responses kept for the turn's end before uvicorn's
    # ``shutdown`` closes the connection, which would drop them.
    source = inspect.getsource(HttpToolsProtocol.shutdown)
    assert "self.transport.close()" in source
