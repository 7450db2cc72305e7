"""cluster/supervisor.py: the SIGTERM/SIGINT handler takes no lock, so it ends ``supervise``
wherever the signal lands."""

from __future__ import annotations

import signal
import sys
import threading
from types import FrameType
from typing import Any

from mock_server.cluster.supervisor import Cluster, ClusterOptions

LOCKS = (type(threading.Lock()), type(threading.RLock()))


def test_the_signal_handler_takes_no_lock() -> None:
    # A handler runs in the main thread between two of its bytecodes. It once set a
    # threading.Event, whose lock the main thread may hold right then (inside Event.wait): the
    # handler waited for it forever and `make cluster` did not stop on SIGTERM.
    cluster = Cluster(ClusterOptions(processes=2))
    taken: list[str] = []

    def watch(frame: FrameType, event: str, arg: Any) -> None:
        if event == "c_call" and isinstance(getattr(arg, "__self__", None), LOCKS):
            taken.append(arg.__name__)

    sys.setprofile(watch)
    try:
        cluster._on_signal(signal.SIGTERM, None)
    finally:
        sys.setprofile(None)
    assert taken == []
    assert cluster.supervise() == 0  # a signal already received: it returns at once
