"""The content-addressed cache: stable keys, round trips, and nothing half-written is ever trusted."""

import os

import jax.numpy as jnp
import numpy as np
import pytest

from ntkcompanion import cache


@pytest.fixture(autouse=True)
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("NTKCOMPANION_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def files(directory):
    return sorted(p.name for p in directory.rglob("*") if p.is_file())


def test_cache_dir_follows_the_environment(cache_dir):
    assert cache.cache_dir() == cache_dir


def test_key_is_canonical():
    assert cache.key(a=1, b=[1, 2]) == cache.key(b=(1, 2), a=1)
    assert cache.key(a={"x": 1, "y": 2}) == cache.key(a={"y": 2, "x": 1})
    assert len(cache.key(a=1)) == 64


@pytest.mark.parametrize("other", [dict(a=2), dict(a=1.0), dict(a=1, b=None), dict(a="1"), dict(a=True)])
def test_key_changes_with_any_component(other):
    assert cache.key(a=1) != cache.key(**other)


def test_key_keeps_every_bit_of_a_float():
    assert cache.key(eps=0.1) != cache.key(eps=0.1 + 1e-12)
    assert cache.key(eps=np.float32(0.5)) == cache.key(eps=0.5)


def test_arrays_enter_keys_by_content():
    x = np.arange(6.0).reshape(2, 3)
    assert cache.key(x=x) == cache.key(x=x.copy())
    assert cache.key(x=x) != cache.key(x=x.reshape(3, 2))
    assert cache.key(x=x) != cache.key(x=x.astype(np.float32))
    x32 = x.astype(np.float32)
    assert cache.fingerprint(x32) == cache.fingerprint(jnp.asarray(x32))
    assert cache.key(x=x32) == cache.key(x=jnp.asarray(x32))


def test_key_rejects_unknown_types():
    with pytest.raises(ValueError, match="object"):
        cache.key(a=object())


def test_round_trip():
    k = cache.key(kind="test")
    assert cache.load(k) is None
    saved = cache.save(k, {"a": np.arange(3), "b": np.eye(2, dtype=np.float32)})
    loaded = cache.load(k)
    assert set(loaded) == {"a", "b"}
    np.testing.assert_array_equal(loaded["a"], saved["a"])
    assert loaded["b"].dtype == np.float32


def test_tree_round_trip_and_structure_check():
    tree = {"w": np.ones((2, 3)), "layers": [np.zeros(4), (np.arange(2),)]}
    k = cache.key(kind="tree")
    cache.save_tree(k, tree, extra={"loss": np.float64(0.5)})
    back, extra = cache.load_tree(k, tree, extra=True)
    np.testing.assert_array_equal(back["layers"][1][0], np.arange(2))
    assert float(extra["loss"]) == 0.5
    assert cache.load_tree(k, {"w": np.ones((3, 3)), "layers": tree["layers"]}) is None
    assert cache.load_tree(k, {"w": np.ones((2, 3))}) is None


def test_cached_computes_once():
    calls = []

    def compute():
        calls.append(1)
        return {"x": np.ones(2)}

    k = cache.key(kind="cached")
    cache.cached(k, compute)
    np.testing.assert_array_equal(cache.cached(k, compute)["x"], np.ones(2))
    assert len(calls) == 1


def test_crash_during_a_write_leaves_no_entry(cache_dir, monkeypatch):
    k = cache.key(kind="crash")
    real_savez = np.savez

    def crash(file, **arrays):
        real_savez(file, **arrays)
        file.truncate(10)  # half a file is on disk when the process dies
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(KeyboardInterrupt):
        cache.save(k, {"x": np.ones(1000)})
    monkeypatch.setattr(np, "savez", real_savez)
    assert cache.load(k) is None
    assert files(cache_dir) == [], "the temporary file must be removed"


def test_crash_during_an_overwrite_keeps_the_old_entry(monkeypatch):
    k = cache.key(kind="overwrite")
    cache.save(k, {"x": np.zeros(3)})

    def crash(file, **arrays):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(OSError):
        cache.save(k, {"x": np.ones(3)})
    np.testing.assert_array_equal(cache.load(k)["x"], np.zeros(3))


def test_a_truncated_or_foreign_file_is_a_miss():
    k = cache.key(kind="truncated")
    cache.save(k, {"x": np.ones(1000)})
    path = cache.path(k)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # e.g. an interrupted copy of the cache directory
    assert cache.load(k) is None
    # A complete file that belongs to another key (moved by hand) is not trusted either.
    other = cache.key(kind="other")
    cache.save(other, {"x": np.ones(2)})
    os.replace(cache.path(other), path)
    assert cache.load(k) is None


def test_bad_keys_and_names_fail_clearly():
    with pytest.raises(ValueError, match="entry_key = 'abc'"):
        cache.path("abc")
    with pytest.raises(ValueError, match="'__key__'"):
        cache.save(cache.key(kind="x"), {"__key__": np.ones(1)})


def test_a_killed_writes_temporary_file_is_removed_by_a_later_write(cache_dir):
    import os
    import time as _time

    from ntkcompanion import _io

    first = cache.key(kind="orphans", n=1)
    cache.save(first, {"a": np.arange(3)})
    directory = cache.path(first).parent
    # What killed writes leave: this module's temporary files, and the legacy ".<key>.*.tmp" ones.
    stale = [directory / f".{first}.npz.abc{_io.TMP_SUFFIX}", directory / f".{first}.xyz.tmp",
             cache_dir / f".loose{_io.TMP_SUFFIX}"]
    fresh = directory / f".{first}.npz.live{_io.TMP_SUFFIX}"  # a write still in progress elsewhere
    old = _time.time() - 2 * _io.ORPHAN_AGE_SECONDS
    for tmp in [*stale, fresh]:
        tmp.write_bytes(b"partial")
    for tmp in stale:
        os.utime(tmp, (old, old))
    other = cache.key(kind="orphans", n=2)  # most likely another subdirectory: cleaning is cache-wide
    cache.save(other, {"b": np.ones(2)})
    assert [t for t in stale if t.exists()] == []
    assert fresh.exists()
    assert cache.load(first)["a"].tolist() == [0, 1, 2] and cache.load(other)["b"].tolist() == [1.0, 1.0]
