"""``flowdock-mock cluster``: N mock processes, each a shard, behind HAProxy on one port.

Every mock process is ``flowdock-mock serve --shard sI`` on a private loopback port, with the
cluster's URL as its ``--public-url`` (so ``url`` fields and file redirects point at the proxy)
and the serve options the cluster was given. HAProxy (the Debian package ``haproxy``) listens on
the cluster's port with the configuration haproxy.py writes; the aggregator (aggregate.py)
answers ``GET /_mock/worlds`` for all shards.

The cluster supervises them: a mock process that exits is reported on stderr and its worlds'
requests answer 503 while the others go on (nothing restarts it: its worlds are gone, as with a
single mock); if HAProxy exits, or every mock process, the cluster stops with status 1. SIGTERM
and SIGINT are passed on as SIGTERM and the cluster exits 0 once everything stopped. Every child
also gets SIGTERM from the kernel if the cluster process itself dies (Linux ``PR_SET_PDEATHSIG``),
so nothing outlives it.
"""

from __future__ import annotations

import contextlib
import ctypes
import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, Self

from mock_server.cluster.aggregate import Aggregator
from mock_server.cluster.haproxy import Shard, haproxy_config

__all__ = ["Cluster", "ClusterError", "ClusterOptions", "find_haproxy", "shard_names"]

HAPROXY_PACKAGE = "haproxy"
SBIN = ("/usr/sbin", "/sbin", "/usr/local/sbin")
"""Where Debian installs haproxy, not always on a non-root user's PATH."""
STOP_GRACE = 5.0
"""Seconds a child has to exit after SIGTERM before it is killed."""


class ClusterError(Exception):
    """The cluster cannot start: printed as one line (haproxy missing, a process that did not start)."""


def shard_names(processes: int) -> list[str]:
    """``s0`` .. ``s{N-1}``: short, so credentials stay short; ``s0`` owns the default world."""
    return [f"s{i}" for i in range(processes)]


def find_haproxy(explicit: str | None = None) -> str:
    """The haproxy executable: ``explicit``, else on PATH, else in /usr/sbin (Debian's place)."""
    if explicit:
        found = shutil.which(explicit)
        if found is None:
            raise ClusterError(f"haproxy executable {explicit!r} not found")
        return found
    found = shutil.which("haproxy") or shutil.which("haproxy", path=os.pathsep.join(SBIN))
    if found is None:
        raise ClusterError(
            f"haproxy not found on PATH: install the Debian package `{HAPROXY_PACKAGE}` "
            f"(apt-get install {HAPROXY_PACKAGE}; `make cluster` installs it)"
        )
    return found


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _prctl() -> Any:
    with contextlib.suppress(OSError, AttributeError):
        return ctypes.CDLL(None, use_errno=True).prctl
    return None


_PRCTL = _prctl()  # looked up once, here: the child after fork only calls it


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM when the cluster process dies (Linux only)."""
    if _PRCTL is not None:
        _PRCTL(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@dataclass
class ClusterOptions:
    processes: int = 2
    host: str = "127.0.0.1"
    port: int = 8080
    """The proxy's port; 0 picks a free one."""
    public_url: str | None = None
    serve_args: Sequence[str] = ()
    """Options passed to every ``flowdock-mock serve`` (strict, seed, admin token, ...)."""
    haproxy: str | None = None
    config_path: str | None = None
    """Where to write haproxy.cfg (default: a temporary directory removed on exit)."""
    startup_timeout: float = 60.0


@dataclass
class Child:
    shard: Shard
    proc: subprocess.Popen[bytes]
    reported: bool = False


@dataclass
class Cluster:
    options: ClusterOptions
    url: str = ""
    children: list[Child] = field(default_factory=list)
    haproxy: subprocess.Popen[bytes] | None = None
    aggregator: Aggregator | None = None
    config: str = ""
    _tmp: tempfile.TemporaryDirectory[str] | None = None
    _stopping: bool = False
    """Set by SIGTERM/SIGINT. A plain flag, not a ``threading.Event``: a signal handler runs in the
    main thread between two of its bytecodes, possibly inside ``Event.wait`` holding the event's
    lock, and ``Event.set`` there waited for that lock forever (the supervisor hung on SIGTERM)."""

    # --- start -----------------------------------------------------------------------------
    def start(self) -> str:
        """Everything up and answering through the proxy; the cluster's URL. Stops what it
        started when something fails."""
        opts = self.options
        haproxy = find_haproxy(opts.haproxy)
        port = opts.port or free_port(opts.host)
        shown = "127.0.0.1" if opts.host in ("0.0.0.0", "", "::") else opts.host
        self.url = opts.public_url or f"http://{shown}:{port}"
        try:
            shards = [Shard(name, f"127.0.0.1:{free_port()}") for name in shard_names(opts.processes)]
            for shard in shards:
                self.children.append(Child(shard, self._spawn_mock(shard)))
            self.aggregator = Aggregator(shards)  # its port now, its thread after the last fork
            self.config = haproxy_config(
                shards,
                bind=f"{opts.host}:{port}",
                aggregator=self.aggregator.address,
                header=f"flowdock-mock cluster --processes {opts.processes}",
            )
            path = self._config_file()
            path.write_text(self.config, encoding="utf-8")
            deadline = time.monotonic() + opts.startup_timeout
            for child in self.children:
                self._wait_healthy(child.shard.address, deadline, child.proc, f"shard {child.shard.name}")
            self.haproxy = subprocess.Popen(
                [haproxy, "-f", str(path), "-db"],
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # a terminal's Ctrl-C reaches the cluster, which passes it on
                preexec_fn=_die_with_parent,  # noqa: PLW1509 (prctl only, resolved before the fork)
            )
            self.aggregator.start()
            self._wait_healthy(f"{shown}:{port}", deadline, self.haproxy, "haproxy")
        except BaseException:
            self.stop()
            raise
        return self.url

    def _spawn_mock(self, shard: Shard) -> subprocess.Popen[bytes]:
        host, _, port = shard.address.rpartition(":")
        argv = [
            sys.executable,
            "-m",
            "mock_server",
            "serve",
            *self.options.serve_args,
            "--host",
            host,
            "--port",
            port,
            "--shard",
            shard.name,
            "--public-url",
            self.url,
        ]
        return subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,  # the banner of each; the cluster prints its own
            start_new_session=True,
            preexec_fn=_die_with_parent,  # noqa: PLW1509
        )

    def _config_file(self) -> Path:
        if self.options.config_path:
            return Path(self.options.config_path)
        self._tmp = tempfile.TemporaryDirectory(prefix="flowdock-mock-cluster-")
        return Path(self._tmp.name) / "haproxy.cfg"

    def _wait_healthy(self, address: str, deadline: float, proc: subprocess.Popen[bytes], what: str) -> None:
        host, _, port = address.rpartition(":")
        while True:
            if proc.poll() is not None:
                raise ClusterError(f"{what} exited with status {proc.returncode} while starting")
            with contextlib.suppress(OSError, http.client.HTTPException):
                conn = http.client.HTTPConnection(host, int(port), timeout=2)
                try:
                    conn.request("GET", "/_mock/health")
                    if conn.getresponse().status == 200:
                        return
                finally:
                    conn.close()
            if time.monotonic() > deadline:
                raise ClusterError(
                    f"{what} did not answer /_mock/health within {self.options.startup_timeout:g}s"
                )
            time.sleep(0.05)

    # --- run -------------------------------------------------------------------------------
    def banner(self) -> str:
        shards = ", ".join(
            f"{c.shard.name} (127.0.0.1:{c.shard.address.rpartition(':')[2]})" for c in self.children
        )
        return (
            f"flowdock-mock cluster serving on {self.url}\n"
            f"  {len(self.children)} mock processes behind HAProxy: {shards}\n"
            f"  worlds created with POST {self.url}/_mock/worlds are spread over them; each world's\n"
            f"  id and credentials start with its shard's name (s1.), which is how requests are routed\n"
            f"  the default world (no shard credential) is on {self.children[0].shard.name}\n"
        )

    def supervise(self) -> int:
        """Until SIGTERM/SIGINT (0) or HAProxy's or every mock's end (1); then everything stops."""
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            while not self._stopping:
                status = self.check()
                if status is not None:
                    return status
                time.sleep(0.2)  # a signal's handler runs during it; the sleep then ends its 0.2 s
            return 0
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self.stop()

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self._stopping = True

    def check(self) -> int | None:
        """Report children that ended; 1 when the cluster cannot serve any more."""
        if self._stopping:  # stopping: children ending now is expected
            return None
        if self.haproxy is not None and self.haproxy.poll() is not None:
            sys.stderr.write(f"flowdock-mock cluster: haproxy exited with status {self.haproxy.returncode}\n")
            return 1
        for child in self.children:
            if child.proc.poll() is not None and not child.reported:
                child.reported = True
                sys.stderr.write(
                    f"flowdock-mock cluster: shard {child.shard.name} exited with status "
                    f"{child.proc.returncode}; its worlds' requests answer 503, the other shards go on\n"
                )
        if self.children and all(child.reported for child in self.children):
            sys.stderr.write("flowdock-mock cluster: every mock process has exited\n")
            return 1
        return None

    # --- stop ------------------------------------------------------------------------------
    def stop(self) -> None:
        """SIGTERM to everything, SIGKILL to what is still there after the grace; idempotent."""
        procs = [c.proc for c in self.children] + ([self.haproxy] if self.haproxy else [])
        for proc in procs:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.terminate()
        deadline = time.monotonic() + STOP_GRACE
        for proc in procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        if self.aggregator is not None:
            self.aggregator.stop()
            self.aggregator = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
