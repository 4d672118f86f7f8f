r"""A small content-addressed cache for arrays: kernels, trained parameters, snapshots.

An entry's key is the SHA-256 of a canonical JSON of everything that determines the
artifact: its parameters, the identity of its data (:func:`fingerprint`) and the
package version. Change any of them and the key changes, so a stale entry is never
read; nothing is ever invalidated by hand.

Entries are ``.npz`` files written atomically (``ntkcompanion._io``): the arrays go to a
temporary file in the cache directory, which is renamed onto the final name only once it
is complete. An interrupted write leaves either no entry or the previous one, never half
of one; the temporary file a killed write leaves behind is removed by a later write
(:func:`remove_orphans`, run by every :func:`save`).
Every entry also stores its own key, and :func:`load` treats anything it cannot read
back completely as a miss, so the caller recomputes: a truncated copy, a foreign file, a
flipped bit in the data or in a zip header (whatever exception reading raises), or arrays
of other shapes than the caller asked for (``shapes``). Such an entry is deleted, with a
one-line :class:`CacheNotice`, and the recomputed one replaces it. A cache folder that
cannot be written (read-only, full) is not an error either: :func:`save` says so once and
the run goes on without caching.

Pytrees are stored as their flattened leaves (``leaf_0``, ``leaf_1``, ...); the
caller rebuilds the tree from a template with the same structure (:func:`load_tree`).

The directory is ``$NTKCOMPANION_CACHE_DIR`` if set, else
``pooch.os_cache("ntkcompanion") / "cache"``.

Example:
    >>> key = cache.key(kind="ntk", architecture="fc", data=cache.fingerprint(x))
    >>> k = cache.load(key)
    >>> if k is None:
    ...     k = cache.save(key, {"ntk": compute()})
"""

import hashlib
import json
import numbers
import os
import time
import warnings
from pathlib import Path

import jax
import numpy as np
import pooch

from ntkcompanion import _io
from ntkcompanion._version import __version__

__all__ = ["CacheNotice", "cache_dir", "fingerprint", "key", "path", "save", "load", "save_tree", "load_tree",
           "cached", "remove_orphans"]

_ENV_VAR = "NTKCOMPANION_CACHE_DIR"
_KEY_ENTRY = "__key__"
_UNWRITABLE: set = set()  # cache folders already reported as unwritable in this process


class CacheNotice(UserWarning):
    """A cache entry was discarded (to be recomputed), or the cache could not be written; the run goes on."""


def _notice(message: str) -> None:
    warnings.warn(message, CacheNotice, stacklevel=3)


def cache_dir() -> Path:
    """The cache directory: ``$NTKCOMPANION_CACHE_DIR``, else ``pooch.os_cache("ntkcompanion")/cache``."""
    env = os.environ.get(_ENV_VAR)
    return Path(env) if env else Path(pooch.os_cache("ntkcompanion")) / "cache"


def fingerprint(array) -> str:
    """SHA-256 of an array's dtype, shape and bytes: the identity of a data set in a key.

    Args:
      array: any array-like.

    Returns:
      A 64-character hex string.
    """
    a = np.ascontiguousarray(np.asarray(array))
    h = hashlib.sha256(f"{a.dtype.str}{a.shape}".encode())
    h.update(a.tobytes())
    return h.hexdigest()


def _canonical(value):
    """JSON-ready form with one spelling per value: tuples as lists, numpy scalars as Python."""
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if isinstance(value, (np.ndarray, jax.Array)):
        return {"array": fingerprint(value)}
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        # repr keeps every bit of a float: 0.1 and 0.1000000001 get different keys.
        return {"float": repr(float(value))}
    if value is None or isinstance(value, str):
        return value
    raise ValueError(f"cache key component {value!r} of type {type(value).__name__} is not allowed: "
                     "expected dicts, lists, strings, numbers, booleans, None or numpy arrays.")


def key(**spec) -> str:
    """SHA-256 of the canonical JSON of ``spec`` and the package version.

    Args:
      **spec: everything that determines the artifact (parameters, :func:`fingerprint` of
        the data, the kind of artifact). Arrays are replaced by their fingerprint.

    Returns:
      A 64-character hex key.
    """
    text = json.dumps(_canonical({"spec": spec, "version": __version__}), sort_keys=True,
                      separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def path(entry_key: str) -> Path:
    """Where the entry ``entry_key`` lives (it may not exist)."""
    if not (isinstance(entry_key, str) and len(entry_key) == 64
            and all(c in "0123456789abcdef" for c in entry_key)):
        raise ValueError(f"entry_key = {entry_key!r} is not allowed: expected a key from cache.key().")
    return cache_dir() / entry_key[:2] / f"{entry_key}.npz"


def save(entry_key: str, arrays: dict) -> dict:
    """Stores named arrays under ``entry_key``, atomically; returns them as numpy arrays.

    Args:
      entry_key: from :func:`key`.
      arrays: name → array-like; names must not start with ``"__"``.

    Returns:
      ``arrays`` as a dict of numpy arrays (what :func:`load` will return).
    """
    target = path(entry_key)
    arrays = {name: np.asarray(value) for name, value in arrays.items()}
    for name in arrays:
        if name.startswith("__"):
            raise ValueError(f"array name {name!r} is not allowed: names starting with '__' are reserved.")
    remove_orphans()

    def write(f):
        np.savez(f, **arrays, **{_KEY_ENTRY: np.array(entry_key)})
        f.flush()
        os.fsync(f.fileno())  # the rename must not reach the disk before the data

    try:
        _io.atomic_write(target, write)
    except OSError as error:  # read-only or full: the caller holds the arrays, so only the saving is lost
        root = str(cache_dir())
        if root not in _UNWRITABLE:
            _UNWRITABLE.add(root)
            _notice(f"ntkcompanion: cannot write the cache {root} ({error.strerror or error}); "
                    f"computing without caching.")
    return arrays


def remove_orphans(*, older_than: float = _io.ORPHAN_AGE_SECONDS) -> list[Path]:
    """Deletes the temporary files of killed writes anywhere in the cache; returns what it removed.

    Besides ``_io``'s temporary files this removes the ``.<key>.*.tmp`` files that earlier
    versions of this module wrote, once they are ``older_than`` seconds old.
    """
    root = cache_dir()
    if not root.is_dir():
        return []
    removed, cutoff = [], time.time() - older_than
    try:
        directories = [root, *(d for d in root.iterdir() if d.is_dir())]
    except OSError:  # unreadable: nothing to clean that we could remove
        return []
    for directory in directories:
        removed += _io.remove_orphans(directory, older_than=older_than)
        for tmp in directory.glob(".*.tmp"):
            try:
                if tmp.stat().st_mtime < cutoff:
                    tmp.unlink()
                    removed.append(tmp)
            except OSError:  # raced with another cleaner
                pass
    return removed


def _discard(target: Path, reason: str) -> None:
    _notice(f"ntkcompanion: discarded the cache entry {target.name} ({reason}); recomputing it.")
    try:
        target.unlink()
    except OSError:  # read-only: ignored now, replaced by the next writable run
        pass


def load(entry_key: str, shapes: dict | None = None) -> dict | None:
    """The arrays stored under ``entry_key``, or ``None`` if there is no complete, matching entry.

    Args:
      entry_key: from :func:`key`.
      shapes: optional ``{name: shape}`` the caller expects (``{"ntk": (n1, n2)}``); an entry
        lacking one of these arrays, or holding it in another shape, is discarded.

    Returns:
      name → numpy array, or ``None`` (absent, or discarded with a :class:`CacheNotice`).
    """
    target = path(entry_key)
    try:
        if not target.exists():
            return None
        with np.load(target, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    # A damaged entry fails in many ways (BadZipFile, a CRC or zlib error, NotImplementedError
    # for a flipped compression-method bit, a bad npy header, MemoryError for an absurd shape);
    # whichever it is, the entry is disposable.
    except Exception as error:  # noqa: BLE001
        _discard(target, f"unreadable: {type(error).__name__}: {str(error)[:200]}")
        return None
    if str(arrays.pop(_KEY_ENTRY, "")) != entry_key:
        _discard(target, "it holds another entry's arrays")
        return None
    for name, shape in (shapes or {}).items():
        if name not in arrays or arrays[name].shape != tuple(shape):
            found = arrays[name].shape if name in arrays else "no such array"
            _discard(target, f"array {name!r} has shape {found}, expected {tuple(shape)}")
            return None
    return arrays


def save_tree(entry_key: str, tree, extra: dict | None = None) -> None:
    """Stores a pytree's leaves (and named ``extra`` arrays) under ``entry_key``; the caller keeps the structure."""
    leaves = jax.tree_util.tree_leaves(tree)
    extra = dict(extra or {})
    if any(name.startswith("leaf_") for name in extra):
        raise ValueError(f"extra names {sorted(extra)} are not allowed: names starting with 'leaf_' are reserved.")
    save(entry_key, {f"leaf_{i}": np.asarray(leaf) for i, leaf in enumerate(leaves)} | extra)


def load_tree(entry_key: str, like, *, extra: bool = False):
    """The pytree stored under ``entry_key``, shaped like the template ``like``; ``None`` on a miss.

    Args:
      entry_key: from :func:`key`.
      like: a pytree with the stored structure (e.g. freshly initialised parameters).
      extra: also return the ``extra`` arrays stored with the tree.

    Returns:
      A pytree of numpy arrays with ``like``'s structure (and a dict of extras if ``extra``),
      or ``None`` if the entry is missing, incomplete, or has other leaves or leaf shapes.
    """
    arrays = load(entry_key)
    if arrays is None:
        return None
    template, treedef = jax.tree_util.tree_flatten(like)
    stored = {name: a for name, a in arrays.items() if name.startswith("leaf_")}
    leaves = [stored.get(f"leaf_{i}") for i in range(len(template))]
    if len(stored) != len(template) or any(
            leaf is None or leaf.shape != np.shape(t) for leaf, t in zip(leaves, template)):
        _discard(path(entry_key), "its leaves do not have the structure and shapes asked for")
        return None
    tree = jax.tree_util.tree_unflatten(treedef, leaves)
    if extra:
        return tree, {name: a for name, a in arrays.items() if not name.startswith("leaf_")}
    return tree


def cached(entry_key: str, compute_fn, shapes: dict | None = None) -> dict:
    """Loads the entry ``entry_key`` (checked against ``shapes``, see :func:`load`), or computes it with
    ``compute_fn() -> dict`` and stores it."""
    arrays = load(entry_key, shapes)
    if arrays is None:
        arrays = save(entry_key, compute_fn())
    return arrays
