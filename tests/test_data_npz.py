"""A reader's own dataset: ``DATASET`` as the path of an .npz file."""

from __future__ import annotations

import time
import zipfile

import numpy as np
import pytest

from _datasets import CIFAR_CLASSES, cifar_like_arrays, malformed_npz_cases, write_npz
from _faults import flip_compression_bit, flip_data_bit, flip_local_header_bit
from ntkcompanion import data


@pytest.fixture(autouse=True)
def isolated_data_dir(tmp_path, monkeypatch):
    folder = tmp_path / "data"
    monkeypatch.setenv("NTKCOMPANION_DATA_DIR", str(folder))
    return folder


def test_cifar_like_file_describes_and_loads(cifar_like_npz):
    info = data.describe(cifar_like_npz)
    assert not info.builtin and info.dataset == str(cifar_like_npz)
    assert info.image_shape == (32, 32, 3) and info.class_names == CIFAR_CLASSES
    assert info.train_counts == (30,) * 10 and info.test_counts == (10,) * 10
    task = data.load_task(str(cifar_like_npz), ["airplane", "automobile"], n_train=60, n_test=20)
    assert task.class_names == ("airplane", "automobile") and task.classes == (0, 1)
    assert task.dataset == str(cifar_like_npz)
    assert task.x_train.shape == (60, 32, 32, 3) and task.x_train.dtype == np.float32
    assert 0.0 <= task.x_train.min() and task.x_train.max() <= 1.0
    # all 60 train images of the two classes are drawn; airplane -> -1, automobile -> +1
    _, labels = data.load_split(cifar_like_npz, "train")
    np.testing.assert_array_equal(np.sort(task.labels_train), np.sort(labels[labels < 2]))
    np.testing.assert_array_equal(task.y_train, np.where(task.labels_train == 0, -1.0, 1.0))
    multi = data.load_task(cifar_like_npz, [], n_train=300, n_test=100)
    assert multi.n_classes == 10 and multi.y_train.shape == (300, 10)


def test_cifar_like_classes_are_learnable(cifar_like_npz):
    """The fixture is meant for sections that must find signal: a linear kernel does."""
    task = data.load_task(cifar_like_npz, [], n_train=300, n_test=100, seed=1)
    x_train = task.x_train.reshape(300, -1)
    x_test = task.x_test.reshape(100, -1)
    gram = x_train @ x_train.T
    alpha = np.linalg.solve(gram + 1e-1 * np.eye(300), task.y_train - 0.1)
    accuracy = task.accuracy((x_test @ x_train.T) @ alpha)
    assert accuracy > 0.5  # chance is 0.1


def test_float_grey_file_without_class_names(tmp_path):
    rng = np.random.default_rng(0)
    arrays = {"x_train": rng.uniform(0, 1, (20, 12, 12, 1)).astype(np.float64),
              "y_train": np.tile([4, 7], 10).astype(np.uint8),
              "x_test": rng.uniform(0, 1, (6, 12, 12, 1)),
              "y_test": np.tile([4, 7], 3).astype(np.int32)}
    arrays["y_train"][0] = 0  # classes 0, 4, 7 used; 1-3, 5-6 have no image
    with pytest.raises(data.DatasetError, match="too few images of class.*'1' \\(0\\)"):
        data.describe(write_npz(tmp_path / "gaps.npz", arrays))
    arrays["y_train"] = np.tile([0, 1], 10)
    arrays["y_test"] = np.tile([1, 0], 3)
    path = write_npz(tmp_path / "grey.npz", arrays)
    info = data.describe(path)
    assert info.class_names == ("0", "1") and info.image_shape == (12, 12, 1)
    task = data.load_task(path, n_train=20, n_test=6)
    # all 20 drawn, kept in file order; floats in [0, 1] are used as they are, not / 255
    np.testing.assert_array_equal(task.x_train, arrays["x_train"].astype(np.float32))
    np.testing.assert_array_equal(task.y_test, np.tile([1.0, -1.0], 3))


@pytest.mark.parametrize("case", sorted(malformed_npz_cases()))
def test_malformed_file_is_refused_naming_the_array(case, tmp_path, isolated_data_dir):
    arrays, words = malformed_npz_cases()[case]
    path = write_npz(tmp_path / "bad.npz", arrays)
    start = time.perf_counter()
    with pytest.raises(data.DatasetError) as error:
        data.load_task(str(path), [0, 1], n_train=2, n_test=2)
    assert time.perf_counter() - start < 5
    message = str(error.value)
    assert len(message) < 600, message  # bounded, whatever the file holds
    assert message.startswith(f"DATASET = {str(path)!r} is not usable: "), message
    for word in words:
        assert word in message, (word, message)
    assert isinstance(error.value, ValueError)
    assert not isolated_data_dir.exists()


def test_structural_faults_are_found_without_reading_images(tmp_path, monkeypatch):
    """describe() refuses a malformed file from headers and labels alone."""
    arrays, _ = malformed_npz_cases()["non-square images"]
    path = write_npz(tmp_path / "bad.npz", arrays)
    monkeypatch.setattr(data._npz, "_load_cached", None)  # any image read would fail loudly
    with pytest.raises(data.DatasetError, match="non-square"):
        data.describe(path)


@pytest.mark.parametrize("content, words", [
    (b"x_train,y_train\n1,2\n", "it is not a readable .npz file"),
    (None, "there is no file"),
])
def test_unreadable_or_absent_file(tmp_path, content, words):
    path = tmp_path / "mine.npz"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(data.DatasetError, match=rf"^DATASET = '.*mine.npz' is not usable: {words}"):
        data.load_task(path)


def test_errors_name_the_given_parameter(tmp_path, cifar_like_npz):
    with pytest.raises(data.DatasetError, match="^DATA = "):
        data.load_task(tmp_path / "absent.npz", names={"dataset": "DATA"})
    with pytest.raises(ValueError, match=r"^N_TRAIN = 61 .* only 60 examples .*'airplane', "
                                         r"'automobile'"):
        data.load_task(cifar_like_npz, ["airplane", "automobile"], n_train=61)
    with pytest.raises(ValueError, match=r"^BINARY_CLASSES = .*'jet' is not a class"):
        data.load_task(cifar_like_npz, ["airplane", "jet"], names={"classes": "BINARY_CLASSES"})


def test_rewritten_file_is_read_again(tmp_path):
    path = tmp_path / "changing.npz"
    arrays = cifar_like_arrays(2, 1, seed=0)
    write_npz(path, arrays)
    first = data.load_split(path, "test")[0]
    arrays = cifar_like_arrays(3, 1, seed=1)
    write_npz(path, arrays)  # a different size, so a different version even on coarse clocks
    assert data.describe(path).train_counts == (3,) * 10
    again = data.load_split(path, "test")[0]
    np.testing.assert_array_equal(again, arrays["x_test"])
    assert not np.array_equal(first, again)


def test_load_split_returns_copies(cifar_like_npz):
    images, labels = data.load_split(cifar_like_npz, "train")
    images[:] = 0
    labels[:] = 0
    again, labels_again = data.load_split(cifar_like_npz, "train")
    assert again.max() > 0 and labels_again.max() == 9


# --- issue 20: damaged files, forged headers, directories; errors name the file and the array, in < 1 s ----------

def _refused(path, *words, within=1.0):
    start = time.perf_counter()
    with pytest.raises(data.DatasetError) as error:
        data.load_task(str(path), [0, 1], n_train=2, n_test=2)
    assert time.perf_counter() - start < within
    message = str(error.value)
    assert message.startswith(f"DATASET = {str(path)!r} is not usable: ") and len(message) < 600, message
    for word in words:
        assert word in message, (word, message)
    return message


def _valid(tmp_path, name="mine.npz"):
    arrays, _ = malformed_npz_cases()["missing array"]
    arrays = dict(arrays, y_test=np.repeat(np.arange(3), 2))
    return write_npz(tmp_path / name, arrays), arrays


def test_a_huge_label_is_refused_at_once(tmp_path):
    _, arrays = _valid(tmp_path)
    for label in (10**6, 10**12):
        path = write_npz(tmp_path / f"label{label}.npz", dict(arrays, y_train=np.r_[arrays["y_train"][:-1], label]))
        _refused(path, "'y_train'", f"label {label}", "at most 5")


def test_a_header_promising_more_than_the_file_stores_is_refused(tmp_path):
    """x_train's header says (300, 4000, 4000, 1) uint8 (4.8 GB); the file holds a few bytes."""
    _, arrays = _valid(tmp_path)
    path = tmp_path / "forged.npz"
    with zipfile.ZipFile(path, "w") as archive:
        for key, value in arrays.items():
            with archive.open(f"{key}.npy", "w") as member:
                if key == "x_train":
                    np.lib.format.write_array_header_1_0(member, {"descr": "|u1", "fortran_order": False,
                                                                  "shape": (300, 4000, 4000, 1)})
                    member.write(b"\0" * 100)
                else:
                    np.lib.format.write_array(member, np.asarray(value))
    _refused(path, "'x_train'", str(path.resolve()), "(300, 4000, 4000, 1)", "4,800,000,000 bytes", "stores 100")
    with pytest.raises(data.DatasetError, match="'x_train'"):
        data.memory_bytes(path)  # the memory check reads the same headers


@pytest.mark.parametrize("fault,words", [
    (flip_data_bit, ("'x_train'", "cannot be read", "CRC")),
    (flip_compression_bit, ("cannot be read", "compression method")),
    (flip_local_header_bit, ("is not usable",)),
])
def test_damaged_zip_data_or_headers_are_dataset_errors(fault, words, tmp_path):
    path, _ = _valid(tmp_path)
    fault(path)
    message = _refused(path, *words)
    assert "Traceback" not in message


def test_a_directory_is_not_a_dataset(tmp_path):
    folder = tmp_path / "images.npz"
    folder.mkdir()
    _refused(folder, "is a directory; expected a .npz file")


def test_memory_bytes_counts_the_images(tmp_path, cifar_like_npz):
    # 300 + 100 images of 32 x 32 x 3 bytes with int64 labels, kept, plus a copy of the larger split.
    per_image = 32 * 32 * 3 + 8
    assert data.memory_bytes(cifar_like_npz) == per_image * (300 + 100) + per_image * 300
    info = data.describe("mnist_embedded")
    embedded = (28 * 28 + 8) * (info.available("train") + info.available("test"))
    assert data.memory_bytes("mnist_embedded") == embedded + (28 * 28 + 8) * 10_000


def test_the_memory_check_counts_the_dataset(tmp_path, cifar_like_npz):
    from ntkcompanion import cost, sections
    from ntkcompanion.cost import _memory, _model, _task

    section = "05_learned_early"  # its derived quantities do not depend on the memory available
    values = sections.defaults(section) | {"DATASET": str(cifar_like_npz), "CLASSES": [0, 1], "N_TRAIN": 20,
                                           "N_TEST": 10}
    p = sections.setup(section, values, display=False, available=2**40)
    own, _ = _memory.peak(_model.MODELS[section].memory(p))
    (allocation,) = _task.dataset_memory(p)
    assert allocation.nbytes == data.memory_bytes(cifar_like_npz) and allocation.kept and allocation.host
    sections.setup(section, values, display=False, available=int(own + allocation.nbytes))
    with pytest.raises(cost.InsufficientMemoryError):
        sections.setup(section, values, display=False, available=int(own + allocation.nbytes) - 1)
