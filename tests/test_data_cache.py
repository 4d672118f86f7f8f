"""The decoded-data cache heals itself: damaged, stale or foreign caches are rebuilt.

Each test decodes the official MNIST test split (1.6 MB) into a data directory of
its own, damages the cache in one way, and checks that the next load returns the
official arrays (decoded independently here), says what it discarded, and leaves a
good cache behind (or, in a read-only directory, writes nothing).
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path
import time
import warnings

import numpy as np
import pytest

from _datasets import link_official
from ntkcompanion import _io, data
from ntkcompanion.data import _files, _readers

CACHE = "_decoded_v2_test.npz"


@pytest.fixture
def mnist_dir(tmp_path, monkeypatch, official_files) -> Path:
    monkeypatch.setenv("NTKCOMPANION_DATA_DIR", str(tmp_path / "data"))
    return link_official(official_files, tmp_path / "data", "mnist")


@pytest.fixture(scope="module")
def official_test_split(official_files):
    folder = official_files / "mnist"
    return _readers.read_idx_pair(folder / "t10k-images-idx3-ubyte.gz",
                                  folder / "t10k-labels-idx1-ubyte.gz")


def _load_quietly():
    """Loads the test split; returns the arrays and the cache notices raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        images, labels = data.load_split("mnist", "test")
    return images, labels, [str(w.message) for w in caught
                            if issubclass(w.category, data.DataCacheNotice)]


def _assert_official(arrays, official):
    np.testing.assert_array_equal(arrays[0], official[0])
    np.testing.assert_array_equal(arrays[1], official[1])


def _assert_healed(mnist_dir, official, reason):
    images, labels, notices = _load_quietly()
    _assert_official((images, labels), official)
    assert len(notices) == 1 and str(mnist_dir / CACHE) in notices[0], notices
    assert reason in notices[0] and "\n" not in notices[0]
    images, labels, notices = _load_quietly()  # the rebuilt cache is good
    assert notices == []
    _assert_official((images, labels), official)


def test_cache_is_written_and_used(mnist_dir, official_test_split, monkeypatch):
    _assert_official(_load_quietly()[:2], official_test_split)
    assert (mnist_dir / CACHE).is_file()

    def no_decoding(*args):
        raise AssertionError("decoded again although a good cache exists")

    monkeypatch.setattr(_readers, "read_idx_pair", no_decoding)
    images, labels, notices = _load_quietly()
    assert notices == []
    _assert_official((images, labels), official_test_split)


def test_truncated_cache(mnist_dir, official_test_split):
    _load_quietly()
    raw = (mnist_dir / CACHE).read_bytes()
    (mnist_dir / CACHE).write_bytes(raw[: len(raw) // 2])
    _assert_healed(mnist_dir, official_test_split, "unreadable")


def test_bit_flipped_cache(mnist_dir, official_test_split):
    _load_quietly()
    raw = bytearray((mnist_dir / CACHE).read_bytes())
    raw[len(raw) // 2] ^= 0x10  # inside the image data
    (mnist_dir / CACHE).write_bytes(bytes(raw))
    _assert_healed(mnist_dir, official_test_split, "unreadable")


def test_valid_npz_with_wrong_arrays(mnist_dir, official_test_split):
    _load_quietly()
    with np.load(mnist_dir / CACHE) as good:
        content = dict(good)
    content["images"] = content["images"].copy()
    content["images"][0, 14, 14, 0] ^= 0xFF  # one pixel changed, metadata kept
    np.savez(mnist_dir / CACHE, **content)
    _assert_healed(mnist_dir, official_test_split, "do not match their recorded checksum")


def test_valid_npz_decoded_from_other_files(mnist_dir, official_test_split):
    _load_quietly()
    images, labels = np.zeros((3, 28, 28, 1), np.uint8), np.zeros(3, np.int64)
    np.savez(mnist_dir / CACHE, images=images, labels=labels,
             raw_sha256=np.array(["0" * 64, "1" * 64]),
             arrays_sha256=np.array(_files.arrays_sha256(images, labels)))
    _assert_healed(mnist_dir, official_test_split, "decoded from other raw files")


def test_forged_cache_with_a_consistent_checksum_but_ten_images(mnist_dir, official_test_split):
    """Provenance and checksum agree, but the arrays are not the whole split: the registry's counts refuse it."""
    _load_quietly()
    with np.load(mnist_dir / CACHE) as good:
        raw_sha256 = good["raw_sha256"]
    images, labels = official_test_split[0][:10].copy(), official_test_split[1][:10].copy()
    np.savez(mnist_dir / CACHE, images=images, labels=labels, raw_sha256=raw_sha256,
             arrays_sha256=np.array(_files.arrays_sha256(images, labels)))
    _assert_healed(mnist_dir, official_test_split, "it holds 10 images")


@pytest.mark.parametrize("fault", ["compression bit", "zip header bit", "npy header shape"])
def test_damaged_zip_headers_of_the_cache(fault, mnist_dir, official_test_split):
    from _faults import FAULTS

    _load_quietly()
    FAULTS[fault](mnist_dir / CACHE)
    _assert_healed(mnist_dir, official_test_split, "unreadable")


def test_npz_of_another_layout(mnist_dir, official_test_split):
    np.savez(mnist_dir / CACHE, images=official_test_split[0], labels=official_test_split[1])
    _assert_healed(mnist_dir, official_test_split, "holds arrays ['images', 'labels']")


def test_replaced_raw_file_invalidates_cache(mnist_dir, official_test_split, official_files):
    _load_quietly()
    # Same payload, different compressed bytes: still the official data, but the cache
    # was decoded from other files, so it is not reused.
    name = "t10k-labels-idx1-ubyte.gz"
    payload = gzip.decompress((official_files / "mnist" / name).read_bytes())
    (mnist_dir / name).unlink()
    (mnist_dir / name).write_bytes(gzip.compress(payload, compresslevel=1, mtime=0))
    _assert_healed(mnist_dir, official_test_split, "decoded from other raw files")


def test_read_only_directory(mnist_dir, official_test_split, monkeypatch):
    before = sorted(p.name for p in mnist_dir.iterdir())

    def refuse(path, write, **kwargs):  # what a read-only medium does even to root
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(_io, "atomic_write", refuse)
    mnist_dir.chmod(0o555)
    try:
        for _ in range(2):
            images, labels, notices = _load_quietly()
            _assert_official((images, labels), official_test_split)
            assert len(notices) == 1 and "could not write" in notices[0]
            assert str(mnist_dir / CACHE) in notices[0]
        assert sorted(p.name for p in mnist_dir.iterdir()) == before
    finally:
        mnist_dir.chmod(0o755)


def test_orphaned_temporary_files_are_removed(mnist_dir, official_test_split):
    old = time.time() - 2 * _io.ORPHAN_AGE_SECONDS
    orphan = mnist_dir / f".{CACHE}.k1ll3d{_io.TMP_SUFFIX}"
    live = mnist_dir / f".{CACHE}.wr1t1ng{_io.TMP_SUFFIX}"
    legacy = [mnist_dir / "_decoded_v1_test.npz", mnist_dir / "_decoded_v1_train.npzab12.tmp"]
    for path in (orphan, live, *legacy):
        path.write_bytes(b"partial")
    os.utime(orphan, (old, old))
    _assert_official(_load_quietly()[:2], official_test_split)
    assert not orphan.exists() and live.exists()  # a recent one may belong to a live writer
    assert not any(p.exists() for p in legacy)
    assert (mnist_dir / CACHE).is_file()
