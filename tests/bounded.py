"""Run code that must finish in a child process, bounded in time.

For tests of what must be linear (regexes, parsers): a regression makes such code run for hours
inside one C call that holds the GIL, where no thread or signal of the test process can stop it.
A child process can be killed. The bound is a hang detector, never a speed figure (those are
measured by ``make bench``).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_bounded(code: str, seconds: float = 120.0) -> str:
    """``code``'s standard output; fails the test when it has not finished after ``seconds``."""
    try:
        done = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(code)],
            check=False,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=seconds,
        )
    except subprocess.TimeoutExpired:
        raise AssertionError(f"did not finish within {seconds:g} s (a super-linear path?)") from None
    assert done.returncode == 0, done.stderr
    return done.stdout
