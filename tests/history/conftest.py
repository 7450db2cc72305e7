"""The stream fixtures (a live server over real sockets) for the tests here that open streams."""

from tests.stream.conftest import live, open_stream, stream_server

__all__ = ["live", "open_stream", "stream_server"]
