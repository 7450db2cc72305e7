"""The Streaming API (docs/flowdock.md §8.1): the hub of open connections and the stream response.

``hub.py`` fans the store's events out to the connections that may read them; ``response.py``
writes them in either wire format. The connect requests are ordinary operations of the contract
(handlers/stream.py), so routing, authentication, validation, the journal and coverage apply.
"""

from mock_server.stream.hub import DEFAULT_KEEPALIVE, DEFAULT_QUEUE, Connection, StreamHub
from mock_server.stream.response import StreamEndpoint, StreamResponse

__all__ = [
    "DEFAULT_KEEPALIVE",
    "DEFAULT_QUEUE",
    "Connection",
    "StreamEndpoint",
    "StreamHub",
    "StreamResponse",
]
