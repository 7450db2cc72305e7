"""``make profile``: where the server's time goes under the bench's load, as a flame graph and a table.

It starts ``flowdock-mock serve`` on a free 127.0.0.1 port, loads one request with wrk (the bench's
request.lua: HTTP Basic on every request; ``GET /flows`` unless ``--path``/``--method``/``--body``
say otherwise), and samples the server with py-spy (a dev dependency) while the load runs:

- ``.bench/profile.svg``: the flame graph of the first ``--seconds`` of sampling;
- ``.bench/profile.txt``: py-spy's collapsed stacks of the next ``--seconds``, from which the
  frames with the most samples of their own (self) and under them (inclusive) are printed.

The server's access log is switched off (``--log-level warning``) unless ``--log-level`` says
otherwise, so the profile shows the request path itself. Everything stops on its own: the server
runs inside ``timeout``, wrk and py-spy for a fixed time.
"""

from __future__ import annotations

import argparse
import collections
import shutil
import subprocess
import sys
import threading
from pathlib import Path

from harness import (
    OUT_DIR,
    PY,
    SERVE_CMD,
    Server,
    add_load_arguments,
    free_port,
    wrk,
)  # bench/harness.py, beside this script

PY_SPY = Path(PY).parent / "py-spy"


def top_frames(raw: Path, count: int) -> str:
    """The ``count`` frames with the most samples of their own, then with the most under them."""
    own: collections.Counter[str] = collections.Counter()
    under: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, samples = line.rpartition(" ")
        if not stack or not samples.isdigit():
            continue
        n = int(samples)
        total += n
        frames = stack.split(";")
        own[frames[-1]] += n
        for frame in set(frames):
            under[frame] += n
    if not total:
        return "no samples (is the server busy? is py-spy allowed to read it?)\n"
    out = [f"{total} samples", "", "self  frame"]
    out += [f"{100 * n / total:5.1f}% {frame}" for frame, n in own.most_common(count)]
    out += ["", "incl  frame"]
    out += [f"{100 * n / total:5.1f}% {frame}" for frame, n in under.most_common(count)]
    return "\n".join(out) + "\n"


def record(pid: int, seconds: float, fmt: str, out: Path) -> subprocess.CompletedProcess[bytes]:
    cmd = [str(PY_SPY), "record", "--pid", str(pid), "--duration", f"{seconds:g}", "--rate", "250"]
    cmd += ["--format", fmt, "--output", str(out), "--nonblocking"]
    return subprocess.run(cmd, capture_output=True, timeout=seconds + 60, check=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds of each of the two samplings")
    add_load_arguments(parser)
    parser.add_argument("--log-level", default="warning", help="the server's (info: with the access log)")
    parser.add_argument("--top", type=int, default=30, help="frames listed")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: run `make bench` once (it installs wrk)")
    OUT_DIR.mkdir(exist_ok=True)
    svg, raw = OUT_DIR / "profile.svg", OUT_DIR / "profile.txt"
    port = free_port()
    server = Server("profile", [*SERVE_CMD, "--port", str(port), "--log-level", args.log_level], port)
    try:
        server.start()
        pid = server.python_pid()
        load = {"threads": args.threads, "connections": args.connections, "duration": 2 * args.seconds + 4}
        result: dict[str, object] = {}
        loader = threading.Thread(
            target=lambda: result.update(wrk(port, args.method, args.path, args.body, **load)), daemon=True
        )
        loader.start()
        threading.Event().wait(1.0)  # the load is running before sampling starts
        for fmt, out in (("flamegraph", svg), ("raw", raw)):
            done = record(pid, args.seconds, fmt, out)
            if done.returncode != 0:
                sys.stderr.write(done.stderr.decode(errors="replace"))
                raise SystemExit(f"py-spy failed ({done.returncode})")
        loader.join(args.seconds + 60)
    finally:
        server.stop()
    print(top_frames(raw, args.top))
    if result:
        print(f"load: {args.method} {args.path}, {result['rps']:.0f} req/s, {result['errors']} errors")
    print(f"flame graph: {svg}\ncollapsed stacks: {raw}")


if __name__ == "__main__":
    main()
