"""The real command in a process of its own: its session's processes, a terminal, no root.

    process = start(command("plan.xlsx", "--solver", "cbc"))      # a session of its own
    wait_for_children(process)                                    # a solver is running
    process.send_signal(signal.SIGTERM)
    process.wait()
    assert in_session(process.pid) == []                          # nothing outlived it

Linux only: processes are found in /proc by their session, so a solver orphaned by its parent
is still found.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: A Python that drops root's power to read and write any file before it runs the command,
#: so permissions bite as they do for the school's administrator (Linux capabilities).
_WITHOUT_ROOT_POWERS = (
    "import ctypes, os, sys\n"
    "libc = ctypes.CDLL(None, use_errno=True)\n"
    "for capability in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH\n"
    "    if libc.prctl(24, capability, 0, 0, 0):  # PR_CAPBSET_DROP\n"
    "        raise OSError(ctypes.get_errno(), 'cannot drop a capability')\n"
    "os.execv(sys.executable, [sys.executable, *sys.argv[1:]])\n"
)
#: A Python that starts a session with the terminal on its standard input as its own, as a
#: login shell does, then runs the command: closing the terminal then sends it SIGHUP.
_WITH_TERMINAL = (
    "import fcntl, os, signal, sys, termios\n"
    # As in a terminal window: a hang-up is not ignored, whatever the test runner inherited
    # (a suite run under nohup ignores SIGHUP, and its children would too).
    "signal.signal(signal.SIGHUP, signal.SIG_DFL)\n"
    "os.setsid()\n"
    "fcntl.ioctl(0, termios.TIOCSCTTY, 0)\n"
    "os.execv(sys.executable, [sys.executable, *sys.argv[1:]])\n"
)


@dataclass(frozen=True)
class Process:
    """A process seen in /proc."""

    pid: int
    state: str
    name: str


def in_session(session: int) -> list[Process]:
    """Return the processes of a session that are still running (not zombies)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:  # ended meanwhile
            continue
        name = text[text.index("(") + 1 : text.rindex(")")]
        fields = text[text.rindex(")") + 2 :].split()
        state, sid = fields[0], int(fields[3])
        if sid == session and state not in ("Z", "X"):
            found.append(Process(int(entry.name), state, name))
    return found


def command(*args: object) -> list[str]:
    """Return the command line that runs crunch-xl with these arguments."""
    return [sys.executable, "-m", "crunch_xl", *(str(a) for a in args)]


def start(
    args: Sequence[str], *, without_root_powers: bool = False, **options: Any
) -> subprocess.Popen[str]:
    """Return the process running ``args`` in a session of its own (output as text pipes)."""
    if without_root_powers and hasattr(os, "geteuid") and os.geteuid() == 0:
        args = [sys.executable, "-c", _WITHOUT_ROOT_POWERS, *args[1:]]
    return subprocess.Popen(
        list(args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        **options,
    )


def start_on_terminal(args: Sequence[str]) -> tuple[subprocess.Popen[bytes], int]:
    """Return the process running ``args`` on a terminal of its own, and the terminal's end.

    Closing the returned descriptor is closing the terminal window. Read from it now and
    then: a terminal holds only so much unread output.
    """
    terminal, its_end = os.openpty()
    process = subprocess.Popen(
        [sys.executable, "-c", _WITH_TERMINAL, *args[1:]],
        stdin=its_end,
        stdout=its_end,
        stderr=its_end,
    )
    os.close(its_end)
    os.set_blocking(terminal, False)
    return process, terminal


def read_terminal(terminal: int) -> bytes:
    """Return what the terminal shows that was not read yet."""
    data = b""
    while True:
        try:
            chunk = os.read(terminal, 65536)
        except (BlockingIOError, OSError):
            return data
        if not chunk:
            return data
        data += chunk


def wait_for_children(
    process: subprocess.Popen[Any],
    timeout: float = 60.0,
    terminal: int | None = None,
    *,
    solver: bool = True,
) -> list[Process]:
    """Return the processes sharing the process's session ID once a solver (CBC) is among them;
    with solver false, once there is any (crunch-xl's listing worker starts with planning).
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the command ended (status {process.returncode}) too soon")
        children = [p for p in in_session(process.pid) if p.pid != process.pid]
        if children and (not solver or any(child.name == "cbc" for child in children)):
            return children
        if terminal is not None:
            read_terminal(terminal)
        time.sleep(0.02)
    raise AssertionError(f"no solver process started within {timeout:g} s")
