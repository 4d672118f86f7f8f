"""Dataset files for the tests: a CIFAR-shaped .npz and malformed .npz examples.

``write_cifar_like_npz`` writes synthetic images shaped like CIFAR-10 (32 x 32 x 3
uint8, the ten CIFAR class names) in which each class has its own smooth colour
pattern, so kernels learn something, with per-image shifts, contrast and noise so
that they do not learn it perfectly. ``malformed_npz_cases`` lists files that
``ntkcompanion.data`` must refuse, each with the words its error must contain.
``link_official`` lays the official MNIST files (the ``official_files`` fixture) out
in a test's own data directory.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

IDX_NAMES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
             "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
CIFAR_CLASSES = ("airplane", "automobile", "bird", "cat", "deer",
                 "dog", "frog", "horse", "ship", "truck")


def _cifar_like_split(rng, prototypes, per_class: int) -> tuple[np.ndarray, np.ndarray]:
    k = len(prototypes)
    labels = np.repeat(np.arange(k), per_class)
    rng.shuffle(labels)
    shifts = rng.integers(-3, 4, size=(len(labels), 2))
    contrast = rng.uniform(0.6, 1.0, size=(len(labels), 1, 1, 1))
    images = np.stack([np.roll(prototypes[c], tuple(s), axis=(0, 1))
                       for c, s in zip(labels, shifts)])
    images = 0.5 + contrast * (images - 0.5) + rng.normal(0.0, 0.12, size=images.shape)
    return np.clip(np.round(images * 255), 0, 255).astype(np.uint8), labels.astype(np.int64)


def cifar_like_arrays(n_train_per_class: int = 30, n_test_per_class: int = 10,
                      seed: int = 0) -> dict[str, np.ndarray]:
    """Returns x_train (10 n_train_per_class, 32, 32, 3) uint8, y_train, x_test, y_test, class_names.

    Class c's prototype is a 4 x 4 x 3 grid of random colours in [0.15, 0.85] blown up
    to 32 x 32 (blocks of 8 pixels); an image is its prototype rolled by up to 3 pixels,
    contrast-scaled by U(0.6, 1) about 0.5, plus N(0, 0.12^2) pixel noise, clipped.
    """
    rng = np.random.default_rng(seed)
    coarse = rng.uniform(0.15, 0.85, size=(len(CIFAR_CLASSES), 4, 4, 3))
    prototypes = np.kron(coarse, np.ones((1, 8, 8, 1)))
    x_train, y_train = _cifar_like_split(rng, prototypes, n_train_per_class)
    x_test, y_test = _cifar_like_split(rng, prototypes, n_test_per_class)
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test,
            "class_names": np.array(CIFAR_CLASSES)}


def write_cifar_like_npz(path, n_train_per_class: int = 30, n_test_per_class: int = 10,
                         seed: int = 0) -> Path:
    """Writes ``cifar_like_arrays(...)`` to ``path`` with ``np.savez_compressed``; returns it."""
    path = Path(path)
    np.savez_compressed(path, **cifar_like_arrays(n_train_per_class, n_test_per_class, seed))
    return path


def _small_valid() -> dict[str, np.ndarray]:
    """Three classes of 8 x 8 grey uint8 images: 4 train and 2 test images each."""
    rng = np.random.default_rng(1)
    y_train, y_test = np.repeat(np.arange(3), 4), np.repeat(np.arange(3), 2)
    return {"x_train": rng.integers(0, 256, (12, 8, 8, 1), dtype=np.uint8), "y_train": y_train,
            "x_test": rng.integers(0, 256, (6, 8, 8, 1), dtype=np.uint8), "y_test": y_test}


def _case(**changes):
    arrays = _small_valid()
    for key, value in changes.items():
        if value is None:
            del arrays[key]
        else:
            arrays[key] = value(arrays) if callable(value) else value
    return arrays


def malformed_npz_cases() -> dict[str, tuple[dict[str, np.ndarray], tuple[str, ...]]]:
    """Returns ``{case: (arrays, words the error must contain)}`` for files to refuse."""
    float_images = lambda a: a["x_train"].astype(np.float32)  # noqa: E731 (a one-line table)
    with_nan = lambda a: np.where(np.arange(8)[None, :, None, None] == 3,  # noqa: E731
                                  np.nan, a["x_train"] / 255.0)
    return {
        "missing array": (_case(y_test=None), ("'y_test'", "missing")),
        "images without channel axis": (_case(x_train=lambda a: a["x_train"][..., 0]),
                                        ("'x_train'", "shape (12, 8, 8)", "x[..., None]")),
        "non-square images": (_case(x_test=lambda a: a["x_test"][:, :, :6]),
                              ("'x_test'", "non-square", "8 x 6")),
        "four channels": (_case(x_train=lambda a: np.repeat(a["x_train"], 4, axis=3)),
                          ("'x_train'", "4 channels")),
        "int64 images": (_case(x_train=lambda a: a["x_train"].astype(np.int64),
                               x_test=lambda a: a["x_test"].astype(np.int64)),
                         ("'x_train'", "dtype int64", "uint8")),
        "floats above one": (_case(x_train=float_images,
                                   x_test=lambda a: a["x_test"].astype(np.float32)),
                             ("'x_train'", "[0, 1]", "255")),
        "NaN pixels": (_case(x_train=with_nan, x_test=lambda a: a["x_test"] / 255.0),
                       ("'x_train'", "NaN")),
        "train and test image shapes differ": (_case(x_test=np.zeros((6, 6, 6, 1), np.uint8)),
                                               ("'x_train'", "'x_test'", "different shapes")),
        "float labels": (_case(y_train=lambda a: a["y_train"].astype(np.float64)),
                         ("'y_train'", "dtype float64", "integer")),
        "label count differs": (_case(y_test=lambda a: a["y_test"][:-1]),
                                ("'y_test'", "5 labels", "6 images")),
        "negative label": (_case(y_train=lambda a: a["y_train"] - 1), ("'y_train'", "negative")),
        "label out of range": (_case(class_names=np.array(["a", "b"])),
                               ("label 2", "out of range", "'class_names'")),
        "single class": (_case(y_train=np.zeros(12, np.int64), y_test=np.zeros(6, np.int64)),
                         ("'y_train'", "single class")),
        "too few of a class": (_case(y_train=lambda a: np.where(np.arange(12) < 11, a["y_train"] % 2, 2)),
                               ("'y_train'", "too few", "'2' (1)")),
        "no test image of a class": (_case(y_test=np.array([0, 0, 1, 1, 0, 1])),
                                     ("'y_test'", "too few", "'2' (0)")),
        "repeated class names": (_case(class_names=np.array(["a", "b", "a"])),
                                 ("'class_names'", "distinct")),
        "class names as objects": (_case(class_names=np.array(["a", "b", "c"], dtype=object)),
                                   ("'class_names'", "string array")),
        # Issue 20: faults that crashed, hung or printed megabytes.
        "channel-first images": (_case(x_train=lambda a: a["x_train"].transpose(0, 3, 1, 2),
                                       x_test=lambda a: a["x_test"].transpose(0, 3, 1, 2)),
                                 ("'x_train'", "channel-first (n, c, h, w)", "expected (n, h, w, c)")),
        "label a million without class names": (_case(y_train=lambda a: np.where(np.arange(12) == 0, 10**6,
                                                                                  a["y_train"])),
                                                ("'y_train'", "label 1000000", "at most 5", "'class_names'")),
        "label 10**12 without class names": (_case(y_test=lambda a: np.where(np.arange(6) == 5, 10**12,
                                                                              a["y_test"])),
                                             ("'y_test'", "label 1000000000000", "at most 5")),
        "many classes short of images": (_case(y_train=np.arange(12) % 6, y_test=np.arange(6),
                                               class_names=np.array([f"c{i}" for i in range(1000)])),
                                         ("'y_train'", "too few", "'c6' (0)", "and 986 more")),
    }


def write_npz(path, arrays: dict[str, np.ndarray]) -> Path:
    """Writes ``arrays`` with ``np.savez`` (object arrays pickled, as numpy does); returns ``path``."""
    path = Path(path)
    np.savez(path, **arrays)
    return path


def link_official(official_files: Path, data_folder: Path, dataset: str) -> Path:
    """Symlinks the official files into a test's own data dir, so caches land there."""
    folder = Path(data_folder) / dataset
    folder.mkdir(parents=True, exist_ok=True)
    for name in IDX_NAMES:
        (folder / name).symlink_to(Path(official_files) / dataset / name)
    return folder
