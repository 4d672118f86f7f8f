"""Tests for ntkcompanion.data: the embedded data, verified full datasets, tasks, downloads.

A reader's own .npz files are tested in test_data_npz.py, the decoded cache in
test_data_cache.py.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import http.server
import io
import json
from pathlib import Path
import pickle
import re
import tarfile
import threading

import numpy as np
import pytest

from _datasets import IDX_NAMES, link_official
from ntkcompanion import data
from ntkcompanion.data import _describe, _readers, _task
from ntkcompanion.data._registry import CLASS_COUNTS, FileEntry, REGISTRY

ROOT = Path(__file__).resolve().parents[1]
PROVISION = ROOT / "scripts" / "provision_test_data.sh"


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(autouse=True)
def isolated_data_dir(tmp_path, monkeypatch):
    """Every test gets an empty data dir of its own: no test reads or writes the user's cache."""
    folder = tmp_path / "data"
    monkeypatch.setenv("NTKCOMPANION_DATA_DIR", str(folder))
    return folder


@contextlib.contextmanager
def serve(routes: dict[str, tuple[bytes, str]]):
    """Serves ``routes`` (path -> (body, mode)) on 127.0.0.1; "truncate" sends half the body."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's naming)
            if self.path not in routes:
                self.send_error(404)
                return
            body, mode = routes[self.path]
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2] if mode == "truncate" else body)
            self.wfile.flush()
            self.close_connection = True

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def no_proxy(monkeypatch):
    for var in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")


def _sha256(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def _files_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


# ----------------------------------------------------------------------------- public surface


def test_public_names():
    assert data.DATASETS == ("mnist_embedded", "mnist", "fashion_mnist", "cifar10")
    assert set(data.CLASS_NAMES) == set(data.DATASETS)
    assert data.CLASS_NAMES["mnist"] == tuple("0123456789")
    assert data.CLASS_NAMES["cifar10"][:2] == ("airplane", "automobile")
    assert data.CLASS_NAMES["fashion_mnist"][0] == "t-shirt/top"
    assert data.CLASS_NAMES["fashion_mnist"][9] == "ankle boot"
    assert all(len(names) == 10 for names in data.CLASS_NAMES.values())


def test_data_dir_env_override_and_default(monkeypatch, tmp_path):
    monkeypatch.setenv("NTKCOMPANION_DATA_DIR", str(tmp_path / "x"))
    assert data.data_dir() == tmp_path / "x"
    monkeypatch.delenv("NTKCOMPANION_DATA_DIR")
    default = data.data_dir()
    assert default.name == "data" and "ntkcompanion" in str(default)


def test_docstring_examples():
    import doctest

    for module in (_describe, _readers, _task):
        assert doctest.testmod(module).failed == 0, module.__name__


def test_provision_script_hashes_match_registry():
    text = PROVISION.read_text()
    for dataset, variable in (("mnist", "MNIST_SHA"), ("fashion_mnist", "FASHION_SHA")):
        block = re.search(rf"{variable}=\((.*?)\)", text, re.S).group(1)
        in_script = dict(re.findall(r"\[([\w-]+)\]=([0-9a-f]{64})", block))
        in_registry = {name[:-3]: entry.payload_sha256 for name, entry in REGISTRY[dataset].items()}
        assert in_script == in_registry


# ----------------------------------------------------------------------------- embedded data

# Official MNIST test set: images per digit 0..9 (LeCun et al.'s published split).
MNIST_TEST_COUNTS = (980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009)
DATA_DIR = ROOT / "ntkcompanion" / "_data"


def test_embedded_splits():
    images, labels = data.load_split("mnist_embedded", "train")
    assert images.shape == (10000, 28, 28, 1) and images.dtype == np.uint8
    assert labels.shape == (10000,) and labels.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(labels, minlength=10), np.full(10, 1000))
    images, labels = data.load_split("mnist_embedded", "test")
    assert images.shape == (10000, 28, 28, 1) and images.dtype == np.uint8
    np.testing.assert_array_equal(np.bincount(labels, minlength=10), MNIST_TEST_COUNTS)
    assert images.max() > 200  # real digits, not blank


def test_embedded_provenance_matches_files():
    record = data.embedded_provenance()
    assert record["counts"]["train"] == {str(d): 1000 for d in range(10)}
    assert record["counts"]["test"] == {str(d): c for d, c in enumerate(MNIST_TEST_COUNTS)}
    assert "CC BY-SA 3.0" in record["licence"] and "LeCun" in record["licence"]
    assert set(record["sources"]) == set(IDX_NAMES)
    for name, source in record["sources"].items():
        assert source["published_sha256"] == REGISTRY["mnist"][name].sha256
        assert source["payload_sha256"] == REGISTRY["mnist"][name].payload_sha256
    assert record["seed"] == 20220524 and "1000 images per digit" in record["selection"]["train"]
    # The shipped files are the ones the record describes, byte for byte.
    raw = (DATA_DIR / record["npz"]).read_bytes()
    assert _sha256(raw) == record["npz_sha256"] and len(raw) == record["npz_bytes"]
    assert len(raw) < 4_000_000  # "a few MB": the two official test files alone are 1.6 MB
    with np.load(io.BytesIO(raw), allow_pickle=False) as arrays:
        assert set(arrays.files) == set(record["arrays"])
        for key, meta in record["arrays"].items():
            array = arrays[key]
            assert (str(array.dtype), list(array.shape)) == (meta["dtype"], meta["shape"])
            assert _sha256(np.ascontiguousarray(array).tobytes()) == meta["sha256"]
        np.testing.assert_array_equal(arrays["idx_test"], np.arange(10000))
        assert len(np.unique(arrays["idx_train"])) == 10000
    assert json.loads((DATA_DIR / "mnist_subset.json").read_text()) == record


def test_embedded_data_is_package_data():
    """The wheel and sdist take ``ntkcompanion/_data/*`` from pyproject's package-data."""
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["ntkcompanion"]
    shipped = {p.name for pattern in patterns for p in (ROOT / "ntkcompanion").glob(pattern)}
    assert {"mnist_subset.npz", "mnist_subset.json"} <= shipped


def test_embedded_checksum_is_enforced(monkeypatch):
    monkeypatch.setattr(_readers, "embedded_provenance", lambda: {"npz_sha256": "0" * 64})
    _readers._embedded_arrays.cache_clear()
    try:
        with pytest.raises(data.DataIntegrityError, match="mnist_subset.npz"):
            data.load_split("mnist_embedded", "train")
    finally:
        _readers._embedded_arrays.cache_clear()


def test_load_split_returns_copies():
    images, _ = data.load_split("mnist_embedded", "test")
    images[:] = 0
    again, _ = data.load_split("mnist_embedded", "test")
    assert again.max() > 0


# ----------------------------------------------------------------------------- tasks


def test_default_task():
    task = data.load_task()
    assert task.dataset == "mnist_embedded" and task.classes == (0, 1)
    assert task.class_names == ("0", "1") and task.is_binary and task.n_classes == 2
    assert (task.n_train, task.n_test) == (200, 100)
    for x, y, labels, n in ((task.x_train, task.y_train, task.labels_train, 200),
                            (task.x_test, task.y_test, task.labels_test, 100)):
        assert x.shape == (n, 28, 28, 1) and x.dtype == np.float32
        assert 0.0 <= x.min() and x.max() <= 1.0 and x.max() > 0.9
        assert y.shape == (n,) and y.dtype == np.float32 and set(np.unique(y)) == {-1.0, 1.0}
        assert labels.dtype == np.int64


def test_all_classes_one_hot():
    for classes in (None, [], ()):
        task = data.load_task(classes=classes, n_train=500, n_test=200)
        assert task.classes == tuple(range(10)) and task.n_classes == 10 and not task.is_binary
        assert set(np.unique(task.labels_train)) == set(range(10))
        assert task.y_train.shape == (500, 10) and task.y_train.dtype == np.float32
        np.testing.assert_array_equal(task.y_train.sum(axis=1), 1.0)
        np.testing.assert_array_equal(task.y_train.argmax(axis=1), task.labels_train)


def test_determinism_by_seed():
    a = data.load_task(classes=[3, 5], seed=7)
    b = data.load_task(classes=[3, 5], seed=7)
    c = data.load_task(classes=[3, 5], seed=8)
    for field in ("x_train", "y_train", "labels_train", "x_test", "y_test", "labels_test"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    assert not np.array_equal(a.x_train, c.x_train)
    assert not np.array_equal(a.x_test, c.x_test)


def test_binary_mapping_follows_class_order():
    images, labels = data.load_split("mnist_embedded", "train")
    original_label = {img.tobytes(): lab for img, lab in zip(images, labels)}
    task = data.load_task(classes=[5, 3], n_train=300)
    assert task.class_names == ("5", "3")
    found = np.array([original_label[np.round(x * 255).astype(np.uint8).tobytes()]
                      for x in task.x_train])
    np.testing.assert_array_equal(found, np.where(task.y_train == -1, 5, 3))
    np.testing.assert_array_equal(found, np.array([5, 3])[task.labels_train])
    flipped = data.load_task(classes=[3, 5], n_train=300)
    np.testing.assert_array_equal(flipped.x_train, task.x_train)  # same pool, same draw
    np.testing.assert_array_equal(flipped.y_train, -task.y_train)


def test_class_names_accepted():
    by_name = data.load_task(classes=["3", "5"])
    by_index = data.load_task(classes=[3, np.int64(5)])
    np.testing.assert_array_equal(by_name.x_train, by_index.x_train)
    assert by_name.classes == by_index.classes == (3, 5)


def test_accuracy():
    task = data.load_task(n_train=50, n_test=40)
    assert task.accuracy(task.y_test) == 1.0
    assert task.accuracy(-3.0 * task.y_test) == 0.0
    assert task.accuracy(task.y_train[:, None], split="train") == 1.0
    assert task.accuracy(np.zeros(40)) == 0.0  # sign 0 matches neither target
    multi = data.load_task(classes=[1, 2, 7], n_train=30, n_test=20)
    assert multi.accuracy(multi.y_test) == 1.0
    assert multi.accuracy(np.roll(multi.y_test, 1, axis=1)) == 0.0
    with pytest.raises(ValueError, match="predictions"):
        multi.accuracy(np.zeros(20))
    with pytest.raises(ValueError, match="split"):
        task.accuracy(task.y_test, split="valid")


def test_task_is_frozen():
    task = data.load_task(n_train=10, n_test=10)
    with pytest.raises(dataclasses.FrozenInstanceError):
        task.x_train = None
    with pytest.raises(ValueError):
        task.x_train[0, 0, 0, 0] = 1.0
    assert "n_train=10" in repr(task)


@pytest.mark.parametrize("kwargs, parameter", [
    (dict(dataset="imagenet"), "DATASET"),
    (dict(dataset=3), "DATASET"),
    (dict(classes=[0, 10]), "CLASSES"),
    (dict(classes=[-1, 0]), "CLASSES"),
    (dict(classes=["0", "cat"]), "CLASSES"),
    (dict(classes=[3, 3]), "CLASSES"),
    (dict(classes=["3", 3]), "CLASSES"),
    (dict(classes=[4]), "CLASSES"),
    (dict(classes="01"), "CLASSES"),
    (dict(classes=[True, False]), "CLASSES"),
    (dict(n_train=0), "N_TRAIN"),
    (dict(n_train=-5), "N_TRAIN"),
    (dict(n_train=2.5), "N_TRAIN"),
    (dict(n_test=0), "N_TEST"),
    (dict(seed=-1), "SEED"),
    (dict(seed="a"), "SEED"),
    (dict(n_train=2001), "N_TRAIN"),   # 2,000 embedded train images of digits 0 and 1
    (dict(n_test=2116), "N_TEST"),     # 980 + 1,135 official test images of 0 and 1
])
def test_bad_task_arguments(kwargs, parameter):
    with pytest.raises(ValueError, match=rf"^{parameter} = "):
        data.load_task(**kwargs)


def test_bad_arguments_fail_before_any_file_access(isolated_data_dir):
    with pytest.raises(ValueError, match="^CLASSES = .*airplane"):
        data.load_task("cifar10", classes=["airplane", "jet"])
    with pytest.raises(ValueError, match="^N_TRAIN = "):
        data.load_task("mnist", n_train=0)
    with pytest.raises(ValueError, match="^N_TRAIN = 60001 .* only 60000"):
        data.load_task("mnist", classes=[], n_train=60_001)
    assert not isolated_data_dir.exists()  # no download was even attempted


@pytest.mark.parametrize("dataset, split, parameter", [
    ("svhn", "train", "DATASET"), ("mnist_embedded", "val", "split"), ("mnist", None, "split")])
def test_bad_split_arguments(dataset, split, parameter):
    with pytest.raises(ValueError, match=rf"^{parameter} = "):
        data.load_split(dataset, split)


def test_n_train_too_large_names_availability():
    with pytest.raises(ValueError, match=r"^N_TRAIN = 2100 .* only 2000 examples .*'0', '1'"):
        data.load_task(n_train=2100)


@pytest.mark.parametrize("names, kwargs, parameter", [
    ({"n_test": "N_TEST_MULTI"}, dict(classes=[], n_test=10_001), "N_TEST_MULTI"),
    ({"n_train": "N_TRAIN_MULTI"}, dict(n_train=0), "N_TRAIN_MULTI"),
    ({"classes": "BINARY_CLASSES"}, dict(classes=[3]), "BINARY_CLASSES"),
    ({"classes": "MULTI_CLASSES"}, dict(classes=["3", "x"]), "MULTI_CLASSES"),
    ({"dataset": "DATA"}, dict(dataset="svhn"), "DATA"),
    ({"seed": "DATA_SEED"}, dict(seed=-2), "DATA_SEED"),
    ({"classes": "BINARY_CLASSES"}, dict(n_test=0), "N_TEST"),  # the others keep defaults
])
def test_errors_name_the_notebook_parameter(names, kwargs, parameter):
    with pytest.raises(ValueError, match=rf"^{parameter} = "):
        data.load_task(names=names, **kwargs)


def test_unknown_parameter_name_key():
    with pytest.raises(ValueError, match="names has unknown key.*'n_tests'"):
        data.load_task(names={"n_tests": "N_TEST"})


def test_describe_builtins_match_their_data(official_files, isolated_data_dir):
    embedded = data.describe("mnist_embedded")
    assert embedded.image_shape == (28, 28, 1) and embedded.builtin
    assert embedded.test_counts == MNIST_TEST_COUNTS and embedded.train_counts == (1000,) * 10
    assert embedded.available("test", [0, 1]) == 2115 and embedded.available("train") == 10000
    for dataset in ("mnist", "fashion_mnist"):
        link_official(official_files, isolated_data_dir, dataset)
        info = data.describe(dataset)
        for split in ("train", "test"):
            images, labels = data.load_split(dataset, split)
            assert images.shape[1:] == info.image_shape
            assert tuple(np.bincount(labels)) == CLASS_COUNTS[dataset][split]
    cifar = data.describe("cifar10")
    assert cifar.image_shape == (32, 32, 3) and cifar.class_names[:2] == ("airplane", "automobile")
    assert cifar.available("train", cifar.class_ids(["airplane", "automobile"])) == 10000


def test_require_local(official_files, isolated_data_dir, tmp_path):
    assert data.require_local("mnist_embedded") == []
    with pytest.raises(data.MissingDataError) as error:
        data.require_local("cifar10")
    message = str(error.value)
    assert "cifar-10-python.tar.gz" in message and str(isolated_data_dir / "cifar10") in message
    assert message.startswith("DATASET = 'cifar10'")
    folder = link_official(official_files, isolated_data_dir, "mnist")
    assert {p.name for p in data.require_local("mnist")} == set(IDX_NAMES)
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    (folder / "train-images-idx3-ubyte.gz").unlink()
    with pytest.raises(data.MissingDataError) as error:
        data.require_local("mnist")
    message = str(error.value)
    assert "t10k-labels-idx1-ubyte.gz" in message and "train-images-idx3-ubyte.gz" in message
    assert "t10k-images" not in message.split("Sources")[0]  # present files are not listed
    with pytest.raises(data.MissingDataError, match="no file .*absent.npz"):
        data.require_local(tmp_path / "absent.npz")
    with pytest.raises(ValueError, match="^DATASET = 'svhn'"):
        data.require_local("svhn")


# ----------------------------------------------------------------------------- full datasets


def test_full_mnist_equals_embedded_data(official_files, isolated_data_dir):
    link_official(official_files, isolated_data_dir, "mnist")
    indices = dict(np.load(io.BytesIO((DATA_DIR / "mnist_subset.npz").read_bytes())))
    for split, n in (("train", 60000), ("test", 10000)):
        images, labels = data.load_split("mnist", split)
        assert images.shape == (n, 28, 28, 1) and images.dtype == np.uint8
        assert labels.shape == (n,) and labels.dtype == np.int64
        sub_images, sub_labels = data.load_split("mnist_embedded", split)
        idx = indices[f"idx_{split}"]
        np.testing.assert_array_equal(images[idx], sub_images)
        np.testing.assert_array_equal(labels[idx], sub_labels)
    # The second load comes from the decoded cache, after re-verifying the raw files.
    assert (isolated_data_dir / "mnist" / "_decoded_v2_test.npz").exists()
    again, _ = data.load_split("mnist", "test")
    np.testing.assert_array_equal(again, images)


def test_fashion_mnist_from_recompressed_debian_files(official_files, isolated_data_dir):
    folder = link_official(official_files, isolated_data_dir, "fashion_mnist")
    entry = REGISTRY["fashion_mnist"]["t10k-images-idx3-ubyte.gz"]
    # Debian's bytes differ from the published file: acceptance is by payload hash.
    placed = (folder / "t10k-images-idx3-ubyte.gz").read_bytes()
    assert _sha256(placed) != entry.sha256
    images, labels = data.load_split("fashion_mnist", "test")
    assert images.shape == (10000, 28, 28, 1)
    np.testing.assert_array_equal(np.bincount(labels), np.full(10, 1000))
    task = data.load_task("fashion_mnist", classes=["sneaker", "ankle boot"], n_train=100,
                          n_test=50)
    assert task.classes == (7, 9) and task.is_binary


def test_corrupted_file_is_rejected(official_files, isolated_data_dir):
    folder = link_official(official_files, isolated_data_dir, "mnist")
    data.load_split("mnist", "test")  # builds a decoded cache from the good files
    target = folder / "t10k-labels-idx1-ubyte.gz"
    raw = bytearray(target.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    target.unlink()
    target.write_bytes(bytes(raw))
    for _ in range(2):  # refused every time, even though a cache exists
        with pytest.raises(data.DataIntegrityError) as error:
            data.load_split("mnist", "test")
        message = str(error.value)
        assert str(target) in message
        assert REGISTRY["mnist"]["t10k-labels-idx1-ubyte.gz"].sha256 in message
        assert hashlib.sha256(bytes(raw)).hexdigest() in message
        assert "Delete it" in message
    with pytest.raises(data.DataIntegrityError, match="t10k-labels"):
        data.load_task("mnist")


# ----------------------------------------------------------------------------- downloads


def _patch_entry(monkeypatch, dataset, name, url, body):
    old = REGISTRY[dataset][name]
    monkeypatch.setitem(REGISTRY[dataset], name, FileEntry(url, _sha256(body), old.payload_sha256))


def test_download_good(official_files, isolated_data_dir, monkeypatch, no_proxy):
    bodies = {name: (official_files / "mnist" / name).read_bytes()
              for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")}
    with serve({f"/{name}": (body, "full") for name, body in bodies.items()}) as base:
        for name, body in bodies.items():
            _patch_entry(monkeypatch, "mnist", name, f"{base}/{name}", body)
        images, labels = data.load_split("mnist", "test")
    assert images.shape == (10000, 28, 28, 1) and np.bincount(labels).sum() == 10000
    for name, body in bodies.items():
        assert (isolated_data_dir / "mnist" / name).read_bytes() == body
    # Present now: a second load needs no server.
    np.testing.assert_array_equal(data.load_split("mnist", "test")[1], labels)


@pytest.mark.parametrize("mode", ["wrong-bytes", "truncate"])
def test_download_failure_leaves_nothing(official_files, isolated_data_dir, monkeypatch, no_proxy,
                                         mode):
    name = "t10k-labels-idx1-ubyte.gz"
    body = (official_files / "mnist" / name).read_bytes()
    served = body[:-10] + b"0123456789" if mode == "wrong-bytes" else body
    with serve({f"/{name}": (served, "truncate" if mode == "truncate" else "full")}) as base:
        _patch_entry(monkeypatch, "mnist", name, f"{base}/{name}", body)
        with pytest.raises(data.DataIntegrityError, match=rf"Could not download {name}"):
            data._files.fetch("mnist", name)
    assert _files_in(isolated_data_dir) == []


# ----------------------------------------------------------------------------- CIFAR-10


def _fake_cifar_tarball(per_batch: int = 6) -> tuple[bytes, dict[str, np.ndarray]]:
    rng = np.random.default_rng(0)
    batches = {}
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
        for name in names:
            flat = rng.integers(0, 256, size=(per_batch, 3072), dtype=np.uint8)
            labels = [int(v) for v in rng.integers(0, 10, size=per_batch)]
            labels[:2] = [0, 1]  # every batch has an airplane and an automobile
            batches[name] = (flat, np.array(labels))
            blob = pickle.dumps({b"batch_label": name.encode(), b"labels": labels,
                                 b"data": flat, b"filenames": [b"x.png"] * per_batch})
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(blob)
            archive.addfile(info, io.BytesIO(blob))
    return buffer.getvalue(), batches


def test_cifar10_from_fake_tarball(isolated_data_dir, monkeypatch, no_proxy):
    body, batches = _fake_cifar_tarball()
    name = "cifar-10-python.tar.gz"
    with serve({f"/{name}": (body, "full")}) as base:
        _patch_entry(monkeypatch, "cifar10", name, f"{base}/{name}", body)
        images, labels = data.load_split("cifar10", "train")
    assert images.shape == (30, 32, 32, 3) and images.dtype == np.uint8
    assert labels.dtype == np.int64
    np.testing.assert_array_equal(labels[:6], batches["data_batch_1"][1])
    flat = batches["data_batch_1"][0]
    # NHWC: pixel (h, w) of channel c is flat[c * 1024 + h * 32 + w].
    for h, w, c in ((0, 0, 0), (3, 17, 1), (31, 30, 2)):
        assert images[0, h, w, c] == flat[0, c * 1024 + h * 32 + w]
    test_images, test_labels = data.load_split("cifar10", "test")
    assert test_images.shape == (6, 32, 32, 3)
    np.testing.assert_array_equal(test_labels, batches["test_batch"][1])

    task = data.load_task("cifar10", classes=["airplane", "automobile"], n_train=10, n_test=2)
    assert task.x_train.shape == (10, 32, 32, 3) and task.class_names == ("airplane", "automobile")
    np.testing.assert_array_equal(task.y_test, [-1.0, 1.0])  # airplane -1, automobile +1
    np.testing.assert_array_equal(task.labels_test, [0, 1])
    np.testing.assert_allclose(task.x_test[0], test_images[0] / 255.0, rtol=1e-6)
