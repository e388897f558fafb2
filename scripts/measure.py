"""Wall time and peak memory of one command, measured as the command alone.

A forked child's peak RSS counts the pages it shared with its parent before ``exec``, so a child
of a large process (a test run, the benchmark) would report its parent's size. A small launcher
process forks the command instead and reports that grandchild's own peak RSS and wall time.
Used by ``scripts/bench.py`` (cold starts) and the hostile-corpus test (memory bound).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

_LAUNCHER = """
import os, sys, time
out, err, timeout = sys.argv[1], sys.argv[2], float(sys.argv[3])
t = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    os.dup2(os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC), 1)
    os.dup2(os.open(err, os.O_WRONLY | os.O_CREAT | os.O_TRUNC), 2)
    os.execv(sys.argv[4], sys.argv[4:])
import signal, threading
killer = threading.Timer(timeout, os.kill, (pid, signal.SIGKILL))
killer.start()
_, status, usage = os.wait4(pid, 0)
killer.cancel()
scale = 1024 if sys.platform != "darwin" else 1024 * 1024  # ru_maxrss: KiB on Linux, bytes on macOS
print(os.waitstatus_to_exitcode(status), time.perf_counter() - t, usage.ru_maxrss / scale)
"""


def measure(cmd: list[str], env: dict, cwd: str | Path, timeout: float = 600,
            stdout: str = os.devnull, stderr: str = os.devnull) -> tuple[int, float, float]:
    """Run ``cmd`` (output to the files given); return (exit code, wall seconds, peak RSS in MB)."""
    out = subprocess.run([sys.executable, "-S", "-c", _LAUNCHER, stdout, stderr, str(timeout), *cmd], env=env,
                         cwd=cwd, capture_output=True, text=True, check=True).stdout.split()
    return int(out[0]), float(out[1]), float(out[2])
