"""What a test of SIGTERM needs: the run ended as a job scheduler expects, and none of its processes is left."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def session_processes(sid: int) -> list[int]:
    """Processes still alive in the session `sid` (zombies excluded)."""
    alive = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[3]) == sid and fields[0] != "Z":
            alive.append(int(entry))
    return alive


@contextmanager
def run_in_own_session(command: list[str], cwd: str | Path) -> Iterator[subprocess.Popen]:
    """Start `command` (stdout and stderr piped, as text) in a session of its own; whatever the test does,
    none of its processes outlives the block (the whole group is killed if it is still running)."""
    proc = subprocess.Popen(
        command,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)


def assert_terminated_cleanly(proc: subprocess.Popen, stderr: str) -> None:
    """Exit 143 with the one line, and no process of its session (started with start_new_session) left."""
    assert proc.returncode == 143, stderr[-3000:]
    assert stderr.strip().splitlines() == [
        "corpus: terminated by SIGTERM; run the same command again to resume"
    ]
    deadline = time.monotonic() + 5
    while session_processes(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert session_processes(proc.pid) == [], "a worker outlived the run"
