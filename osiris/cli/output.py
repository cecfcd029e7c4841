"""Files a command writes for the user (`--junit`, `evidence export`, `checkpoint
export`): checked before any work, never replacing a file without ``--force``, and
written whole or not at all.

:func:`check_output` runs first, so a bad path costs nothing; :func:`written_whole`
gives the command a temporary file beside the target, which becomes the target only
when the command finished writing it. On any failure, SIGINT or SIGTERM, the temporary
file is removed and the target is as it was; once the file is in place, the command's
outcome is settled (:func:`osiris.interrupts.settle`): a signal then changes nothing.
"""

from __future__ import annotations

import errno
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from osiris import interrupts
from osiris.errors import InputError

ForceOption = Annotated[bool, typer.Option("--force", help="Replace the output file if it exists.")]


def check_output(path: Path, *, force: bool, option: str | None = None) -> None:
    """Refuse, before any work, an output path that cannot be written: a directory, a
    missing or read-only directory, or an existing file without ``force``."""
    if path.is_dir():
        raise InputError("is a directory, not a file", file=path, field=option)
    if (path.exists() or path.is_symlink()) and not force:
        raise InputError("exists; give --force to replace it", file=path, field=option)
    parent = path.absolute().parent
    if not parent.is_dir():
        raise InputError(f"no directory {parent} to write it in", file=path, field=option)
    try:
        read_only = bool(os.statvfs(parent).f_flag & os.ST_RDONLY)
    except OSError:
        read_only = False
    if read_only or not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"cannot write in {parent}", file=path, field=option)


@dataclass
class Output:
    """Where to write (``temporary``), and whether it has become the target."""

    path: Path
    temporary: Path
    published: bool = False


@contextmanager
def written_whole(path: Path, *, force: bool) -> Iterator[Output]:
    """A temporary file beside ``path`` for the caller to write; it becomes ``path`` when
    the block ends normally (an existing file is replaced only with ``force``), and is
    removed in every case. ``published`` says, even after an interrupt, whether it did."""
    output = Output(path, path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp"))
    with interrupts.deferred():
        try:
            with interrupts.allowed():
                yield output
            interrupts.check()  # asked to stop: publish nothing
            _publish(output.temporary, path, force=force)
            output.published = True
            interrupts.settle()  # the file is the command's outcome: it stands
        finally:
            output.temporary.unlink(missing_ok=True)


def _publish(temporary: Path, path: Path, *, force: bool) -> None:
    if force:
        os.replace(temporary, path)
        return
    try:
        os.link(temporary, path)  # atomic, and refuses a file that appeared meanwhile
    except FileExistsError:
        raise InputError(
            "appeared while it was written; give --force to replace it", file=path
        ) from None
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EXDEV, errno.EMLINK):
            raise
        # a file system without hard links: check, then rename (a tiny window)
        if path.exists():
            raise InputError("exists; give --force to replace it", file=path) from None
        os.rename(temporary, path)
