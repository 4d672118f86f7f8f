"""The content-addressed cache: stable keys, round trips, and nothing half-written is ever trusted."""

import errno
import os
import tempfile
import warnings

import jax.numpy as jnp
import numpy as np
import pytest

from _faults import FAULTS
from ntkcompanion import cache, kernels


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
    with pytest.warns(cache.CacheNotice, match="structure and shapes"):
        assert cache.load_tree(k, {"w": np.ones((3, 3)), "layers": tree["layers"]}) is None
    cache.save_tree(k, tree)
    with pytest.warns(cache.CacheNotice, match="structure and shapes"):
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
    with pytest.warns(cache.CacheNotice, match="disk full"):
        assert cache.save(k, {"x": np.ones(3)})["x"].sum() == 3  # the caller keeps its arrays
    np.testing.assert_array_equal(cache.load(k)["x"], np.zeros(3))


def test_a_truncated_or_foreign_file_is_a_miss():
    k = cache.key(kind="truncated")
    cache.save(k, {"x": np.ones(1000)})
    path = cache.path(k)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # e.g. an interrupted copy of the cache directory
    with pytest.warns(cache.CacheNotice, match="unreadable: BadZipFile"):
        assert cache.load(k) is None
    # A complete file that belongs to another key (moved by hand) is not trusted either.
    other = cache.key(kind="other")
    cache.save(other, {"x": np.ones(2)})
    os.replace(cache.path(other), path)
    with pytest.warns(cache.CacheNotice, match="another entry's arrays"):
        assert cache.load(k) is None
    assert not path.exists()  # discarded, so the next save replaces it


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


# --- issue 20: any fault in an entry means recompute, with one notice; never a crash ---------------------------

def _entry_file(cache_dir):
    (entry,) = [p for p in cache_dir.rglob("*.npz")]
    return entry


@pytest.fixture
def images():
    return np.random.default_rng(0).uniform(size=(5, 4, 4, 1)).astype(np.float32)


def _quiet(fn):
    """Calls ``fn``, failing on any CacheNotice (an intact entry is read silently)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", cache.CacheNotice)
        return fn()


KINDS = {
    # The Gram cache, through kernels.gram itself.
    "gram": lambda x: kernels.gram(x, architecture="fc", depth=1),
    # Section 8's checkpoints (cache.save_tree / load_tree) and snapshots (cache.cached with shapes).
    "train-state": lambda x: _tree(x),
    "snapshot": lambda x: cache.cached(cache.key(kind="ntk-snapshot", x=x),
                                       lambda: {"ntk": np.outer(x[:, 0, 0, 0], x[:, 0, 0, 0])},
                                       shapes={"ntk": (len(x), len(x))})["ntk"],
}


def _tree(x):
    template = {"w": np.zeros((len(x), 3)), "b": np.zeros(3)}
    k = cache.key(kind="train-state", x=x)
    loaded = cache.load_tree(k, template)
    if loaded is None:
        loaded = {"w": np.tile(x[:, 0, 0, :], (1, 3)), "b": np.ones(3)}
        cache.save_tree(k, loaded)
    return loaded["w"]


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("kind", KINDS)
def test_a_damaged_entry_is_recomputed_with_one_notice(kind, fault, cache_dir, images):
    fresh = _quiet(lambda: KINDS[kind](images))
    FAULTS[fault](_entry_file(cache_dir))
    with pytest.warns(cache.CacheNotice, match=r"^ntkcompanion: discarded the cache entry .*; recomputing it\.$"):
        again = KINDS[kind](images)
    np.testing.assert_array_equal(again, fresh)
    np.testing.assert_array_equal(_quiet(lambda: KINDS[kind](images)), fresh)  # healed: read silently


@pytest.mark.parametrize("kind", KINDS)
def test_an_entry_of_the_wrong_shape_is_recomputed(kind, cache_dir, images):
    fresh = _quiet(lambda: KINDS[kind](images))
    entry = _entry_file(cache_dir)
    with np.load(entry) as stored:
        arrays = {name: stored[name] for name in stored.files}
    # Same key, arrays cut to 3 rows: what a forged or foreign entry looks like.
    np.savez(entry, **{name: a[:3] if a.ndim else a for name, a in arrays.items()})
    with pytest.warns(cache.CacheNotice, match=r"discarded the cache entry .*(shape|structure)"):
        np.testing.assert_array_equal(KINDS[kind](images), fresh)


@pytest.mark.parametrize("kind", KINDS)
def test_a_read_only_cache_folder_computes_without_caching(kind, cache_dir, images, monkeypatch):
    cache._UNWRITABLE.clear()

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    with pytest.warns(cache.CacheNotice, match=r"cannot write the cache .* \(Read-only file system\); computing "
                                               r"without caching\.$") as notices:
        first = KINDS[kind](images)
        second = KINDS[kind](images)
        KINDS[kind](images[:4])
    assert len([n for n in notices if issubclass(n.category, cache.CacheNotice)]) == 1  # one notice, not one per entry
    np.testing.assert_array_equal(first, second)
    assert not list(cache_dir.rglob("*.npz"))


def test_section_8_training_survives_every_fault_in_its_cache(cache_dir):
    """A finished tiny run, its every entry damaged (each fault in turn), reruns to the same history."""
    import dataclasses

    from ntkcompanion import adversarial_training

    rng = np.random.default_rng(0)
    x, xt = rng.uniform(size=(16, 4, 4, 1)).astype(np.float32), rng.uniform(size=(8, 4, 4, 1)).astype(np.float32)
    y, yt = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 16)], np.eye(3, dtype=np.float32)[rng.integers(0, 3, 8)]
    config = adversarial_training.TrainConfig(
        network="mlp", width=8, depth=1, mode="fgsm", eps=0.1, step_size=0.1, steps=1, learning_rate=0.1,
        batch_size=8, epochs=1, eval_eps=0.1, eval_step_size=0.05, eval_steps=1, snapshot_every=1,
        n_snapshot=4, kernel_batch_size=4)
    first = adversarial_training.train(config, x, y, xt, yt, progress=False)
    entries = sorted(cache_dir.rglob("*.npz"))
    assert len(entries) >= 4  # a checkpoint, evaluations, snapshots
    for i, entry in enumerate(entries):
        list(FAULTS.values())[i % len(FAULTS)](entry)
    with pytest.warns(cache.CacheNotice, match="discarded the cache entry"):
        again = adversarial_training.train(dataclasses.replace(config), x, y, xt, yt, progress=False)
    for name in first.history:
        np.testing.assert_array_equal(again.history[name], first.history[name])
    for k1, k2 in zip(first.kernels(), again.kernels()):
        np.testing.assert_array_equal(k1, k2)
