"""Files on disk: atomic writes, names that fit the file system, and names shown to people.

The one place crunch-xl replaces a file: everything it writes (a workbook with results, the
template, ``--json``, a watched folder's ``NAME.error.txt`` and the links it keeps) goes to a
hidden temporary file in the destination's folder, is flushed to disk, and then replaces the
destination in one step, so a crash, a full disk or a stop never leaves a half-written or
missing file.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import unicodedata
import uuid
from collections.abc import Callable
from pathlib import Path

__all__ = [
    "NAME_LIMIT",
    "NotReplaced",
    "exists",
    "fitted_name",
    "name_fits",
    "replace_with_link",
    "shown",
    "temporary_name",
    "write_atomically",
]

#: The longest file name (in bytes of UTF-8) the usual file systems take: ext4, APFS, tmpfs,
#: and NTFS (255 UTF-16 units, never fewer than the UTF-8 bytes).
NAME_LIMIT = 255
#: What a shortened name shows where its end was cut.
CUT = "…"
#: The end of every temporary file's name, so a leftover is recognisable (and never a workbook).
TEMPORARY_SUFFIX = ".crunch-xl.tmp"
#: Characters of the destination's name kept in a temporary file's name.
_TEMPORARY_STEM = 50


class NotReplaced(OSError):
    """The new contents were written in full, but could not replace the destination."""


def write_atomically(
    destination: Path,
    write: Callable[[Path], None] | bytes | str,
    *,
    before_replace: Callable[[], None] | None = None,
) -> None:
    """Write ``destination`` through a temporary file that replaces it in one step.

    ``write`` is the contents (text is written as UTF-8), or a function that writes the
    temporary file it is given. The temporary file is flushed to disk and gets the
    destination's permission bits; ``before_replace`` is called just before it replaces the
    destination, and may raise to leave the destination as it was. Whatever happens, the
    temporary file is removed and the destination is either untouched or entirely new. A
    destination that is a symbolic link is written through: the file it points to gets the
    new contents, and the link stays.

    Raises OSError when the contents cannot be written (disk full, folder not writable), and
    NotReplaced (an OSError, its cause the real one) when only the replacing failed.
    """
    if destination.is_symlink():  # write through it: the file it points to changes, it stays
        destination = Path(os.path.realpath(destination))
    temporary = destination.with_name(temporary_name(destination.name))
    try:
        if callable(write):
            write(temporary)
        else:
            data = write.encode("utf-8") if isinstance(write, str) else write
            with open(temporary, "xb") as handle:
                handle.write(data)
        with open(temporary, "rb+") as handle:
            os.fsync(handle.fileno())
        _keep_permissions(destination, temporary)
        if before_replace is not None:
            before_replace()
        try:
            os.replace(temporary, destination)
        except OSError as error:
            raise NotReplaced(error.errno, error.strerror, str(destination)) from error
    finally:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)


def replace_with_link(link: Path, target: str) -> None:
    """Replace ``link`` with a symbolic link to ``target``, in one step."""
    temporary = link.with_name(temporary_name(link.name))
    os.symlink(target, temporary)
    try:
        os.replace(temporary, link)
    except OSError:
        temporary.unlink()
        raise


def temporary_name(name: str) -> str:
    """Return a hidden, unique name for a file written before it replaces ``name``."""
    # Cut long names: the temporary name must fit the limit the destination's does.
    return f".{name[:_TEMPORARY_STEM]}.{uuid.uuid4().hex[:8]}{TEMPORARY_SUFFIX}"


def _keep_permissions(destination: Path, temporary: Path) -> None:
    """Give the temporary file the destination's permissions, so replacing keeps them."""
    # A shared folder's workbook may be group-writable; a new file gets the umask's mode.
    with contextlib.suppress(OSError):
        shutil.copymode(destination, temporary)


def name_fits(name: str, limit: int = NAME_LIMIT) -> bool:
    """Return whether a file of this name can exist (its bytes within the file system's limit)."""
    return len(os.fsencode(name)) <= limit


def fitted_name(stem: str, suffix: str, tag: str = "", limit: int = NAME_LIMIT) -> str:
    """Return ``stem + tag + suffix``, the stem cut short (ending in …) so the name fits.

    ``tag`` (e.g. `` (2)``) and ``suffix`` (e.g. ``.error.txt``) are always kept whole, so
    two files of one workbook stay recognisably a pair however long its name.
    """
    name = f"{stem}{tag}{suffix}"
    if name_fits(name, limit):
        return name
    room = limit - len(os.fsencode(f"{CUT}{tag}{suffix}"))
    cut = stem
    while cut and len(os.fsencode(cut)) > room:
        cut = cut[:-1]
    # Never cut a letter from its accents (é typed as e + a combining accent).
    while cut and len(cut) < len(stem) and unicodedata.combining(stem[len(cut)]):
        cut = cut[:-1]
    return f"{cut.rstrip()}{CUT}{tag}{suffix}"


#: Characters no file name may hold on Windows (and "/" nowhere).
_NOT_IN_NAMES = set('<>:"/\\|?*')
#: Names Windows keeps for devices, whatever the extension.
_DEVICES = {
    "CON",
    "PRN",
    "AUX",
    "NUL",
    *(f"COM{n}" for n in range(1, 10)),
    *(f"LPT{n}" for n in range(1, 10)),
}


def folder_name(text: str) -> str:
    """Return a folder name for text (a sheet's or workbook's name) valid on every system."""
    name = "".join("_" if c in _NOT_IN_NAMES or ord(c) < 32 else c for c in text)
    name = name.strip().rstrip(".") or "_"
    if name.split(".")[0].upper() in _DEVICES:
        name = f"_{name}"
    return fitted_name(name, "")


def exists(path: Path) -> bool:
    """Return whether something is at path; False too when it cannot be (its name too long)."""
    return os.path.lexists(path)


def shown(name: str) -> str:
    """Return a file name as a person should read it in a one-line message.

    Printed as typed, except what would break the line or the terminal: control characters
    (a newline, a tab, an escape) show as their visible symbols (␊, ␉, ␛), and bytes that are
    not text in the system's encoding as �.
    """
    out = []
    for ch in name:
        code = ord(ch)
        if code < 0x20:
            out.append(chr(0x2400 + code))
        elif code == 0x7F:
            out.append("\u2421")
        elif 0xDC80 <= code <= 0xDCFF or unicodedata.category(ch) in ("Cc", "Cs"):
            out.append("\ufffd")
        else:
            out.append(ch)
    return "".join(out)
