"""Real small disks for tests: a tmpfs mounted on a folder, filled up, or made read-only.

    with small_disk(tmp_path / "disk", kilobytes=2048) as disk:
        leave_free(disk, 3 * PAGE)        # the disk now has about three pages left
        ...
        read_only(disk)                   # remounted read-only

Mounting needs root on Linux; elsewhere the test is skipped with the reason.
"""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

#: tmpfs counts what it holds in pages of this size.
PAGE = 4096
FILLER = ".filler"


@contextlib.contextmanager
def small_disk(folder: Path, kilobytes: int) -> Iterator[Path]:
    """Yield ``folder`` with a file system of ``kilobytes`` mounted on it (a tmpfs)."""
    if not sys.platform.startswith("linux"):
        pytest.skip("a small disk is mounted with Linux's tmpfs")
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={kilobytes}k,mode=0777", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        pytest.skip(f"a small disk cannot be mounted here ({done.stderr.strip()})")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def free_bytes(disk: Path) -> int:
    """Return how many bytes the disk can still take."""
    status = os.statvfs(disk)
    return status.f_bavail * status.f_frsize


def leave_free(disk: Path, room: int) -> Path:
    """Return the file that fills the disk so that only ``room`` bytes are left (0: full)."""
    filler = disk / FILLER
    filler.unlink(missing_ok=True)
    size = max(0, free_bytes(disk) - room)
    descriptor = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    try:
        while size > 0 or not room:  # when full is asked, whatever the accounting left over
            written = os.write(descriptor, bytes(min(size, 1 << 20) if size > 0 else PAGE))
            size -= written
    except OSError as error:
        if error.errno != errno.ENOSPC:
            raise
    finally:
        os.close(descriptor)
    return filler


def make_room(disk: Path) -> None:
    """Give the disk back its space."""
    (disk / FILLER).unlink(missing_ok=True)


def read_only(disk: Path) -> None:
    """Remount the disk read-only, as a share without write access or a locked USB stick."""
    subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True, capture_output=True)
