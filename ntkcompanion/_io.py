"""Atomic file writes, shared by the cache, the data layer and the metrics record.

A write goes to a temporary file in the target's directory and is renamed onto the
target only once it is complete, so a reader sees the old file or the new one, never
half of one. A process killed mid-write leaves its temporary file behind; the next
write into the same directory removes such orphans once they are older than
``ORPHAN_AGE_SECONDS`` (old enough that no live writer can still own them).
"""

import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

__all__ = ["ORPHAN_AGE_SECONDS", "TMP_SUFFIX", "atomic_write", "atomic_write_text",
           "remove_orphans"]

TMP_SUFFIX = ".ntkc-tmp"
# A live write of the largest artifact (a kernel snapshot stack) takes seconds; an hour
# is far beyond that, so a temporary file this old belongs to a killed process.
ORPHAN_AGE_SECONDS = 3600.0


def remove_orphans(directory, *, older_than: float = ORPHAN_AGE_SECONDS) -> list[Path]:
    """Deletes temporary files of killed writes in ``directory``; returns what it removed."""
    directory = Path(directory)
    removed = []
    if not directory.is_dir():
        return removed
    cutoff = time.time() - older_than
    for tmp in directory.glob(f".*{TMP_SUFFIX}"):
        try:
            if tmp.stat().st_mtime < cutoff:
                tmp.unlink()
                removed.append(tmp)
        except OSError:  # raced with another cleaner, or not ours to delete
            pass
    return removed


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path, write: Callable, *, binary: bool = True) -> Path:
    """Calls ``write(file_object)`` on a temporary file, then renames it onto ``path``.

    Args:
      path: the final file; its directory is created if missing.
      write: a function that writes the whole content to the open file object.
      binary: open the temporary file in binary (default) or text mode.

    Returns:
      ``path`` as a :class:`~pathlib.Path`.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_orphans(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TMP_SUFFIX)
    try:
        # mkstemp creates the file owner-only; give the result the mode an ordinary open() would.
        os.chmod(tmp, 0o666 & ~_umask())
        with os.fdopen(fd, "wb" if binary else "w") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path, text: str) -> Path:
    """Writes ``text`` to ``path`` atomically (see :func:`atomic_write`)."""
    return atomic_write(path, lambda f: f.write(text), binary=False)
