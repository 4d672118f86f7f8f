"""Classification tasks: a deterministic class subset and subsample with ±1 or one-hot targets."""

from __future__ import annotations

import dataclasses

import numpy as np

from ntkcompanion import validate
from ntkcompanion.data._describe import describe
from ntkcompanion.data._readers import SPLITS, load_split


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class Task:
    """A train/test classification task drawn from one dataset.

    Targets follow one convention, defined here: with two classes, ``classes[0]``
    has target −1 and ``classes[1]`` target +1 (``y`` has shape ``(n,)``); with
    ``k ≥ 3`` classes, ``y`` is one-hot, shape ``(n, k)``. ``labels`` always index
    into ``classes``. Arrays are read-only.

    Attributes:
      x_train: (n_train, h, w, c) float32 images in [0, 1] (pixels / 255).
      y_train: (n_train,) ±1 or (n_train, k) one-hot, float32.
      labels_train: (n_train,) int64 in 0..k-1.
      x_test, y_test, labels_test: the same for the test split.
      dataset: the dataset name, or the path of its file as given.
      classes: the original class indices, in task order.
      class_names: their names (``CLASS_NAMES`` for built-ins, the file's otherwise).
    """

    x_train: np.ndarray
    y_train: np.ndarray
    labels_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    labels_test: np.ndarray
    dataset: str
    classes: tuple[int, ...]
    class_names: tuple[str, ...]

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    @property
    def is_binary(self) -> bool:
        return self.n_classes == 2

    @property
    def n_train(self) -> int:
        return len(self.labels_train)

    @property
    def n_test(self) -> int:
        return len(self.labels_test)

    @property
    def title(self) -> str:
        """The task in words: ``"airplane vs automobile"`` for two classes, ``"10-class"`` otherwise."""
        return " vs ".join(self.class_names) if self.is_binary else f"{self.n_classes}-class"

    def __repr__(self) -> str:
        return (f"Task(dataset={self.dataset!r}, class_names={self.class_names}, "
                f"n_train={self.n_train}, n_test={self.n_test}, "
                f"image_shape={self.x_train.shape[1:]})")

    def accuracy(self, predictions, split: str = "test") -> float:
        """Fraction of correct predictions on one split.

        Args:
          predictions: for a binary task ``(n,)`` (or ``(n, 1)``) real scores, correct
            when ``sign(score)`` equals the ±1 target (a score of exactly 0 counts as
            wrong); for ``k`` classes ``(n, k)`` scores, correct when the argmax is the label.
          split: ``"train"`` or ``"test"``.

        Returns:
          The accuracy in [0, 1] as a Python float.
        """
        validate.one_of("split", split, SPLITS)
        labels = self.labels_train if split == "train" else self.labels_test
        scores = np.asarray(predictions)
        n = len(labels)
        if self.is_binary:
            if scores.shape == (n, 1):
                scores = scores[:, 0]
            if scores.shape != (n,):
                raise ValueError(f"predictions has shape {scores.shape}; a binary task's {split} "
                                 f"split needs ({n},) scores.")
            targets = self.y_train if split == "train" else self.y_test
            return float(np.mean(np.sign(scores) == targets))
        if scores.shape != (n, self.n_classes):
            raise ValueError(f"predictions has shape {scores.shape}; this task's {split} split "
                             f"needs ({n}, {self.n_classes}) scores.")
        return float(np.mean(np.argmax(scores, axis=1) == labels))


# The notebooks' parameter names for load_task's arguments: errors name what the
# reader typed. A section whose task uses other parameters passes ``names``.
DEFAULT_NAMES = {"dataset": "DATASET", "classes": "CLASSES", "n_train": "N_TRAIN",
                 "n_test": "N_TEST", "seed": "SEED"}


def _readonly(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


def _as_unit_float(images: np.ndarray) -> np.ndarray:
    """uint8 pixels / 255, or float pixels already in [0, 1], as float32."""
    if images.dtype == np.uint8:
        return images.astype(np.float32) / np.float32(255.0)
    return images.astype(np.float32)


def load_task(dataset="mnist_embedded", classes=(0, 1), n_train: int = 200,
              n_test: int = 100, seed: int = 0, *, names: dict[str, str] | None = None) -> Task:
    """Draws a classification task: chosen classes, a deterministic subsample, targets.

    Examples are drawn without replacement from the examples of the chosen classes
    only, with ``np.random.default_rng(seed)`` (train first, then test), and kept in
    their original order. Every argument is checked before any image is read.

    Args:
      dataset: one of ``DATASETS`` (the default needs no network) or the path of an
        ``.npz`` file with ``x_train``, ``y_train``, ``x_test``, ``y_test`` and optional
        ``class_names`` (see ``describe``).
      classes: class indices or names (``[3, 5]``, ``["airplane", "automobile"]``),
        at least two, no repeats; ``None`` or empty for all classes. Two classes give
        a binary task (``classes[0]`` → −1, ``classes[1]`` → +1); more give one-hot targets.
      n_train: number of training examples, ≥ 1.
      n_test: number of test examples, ≥ 1.
      seed: integer ≥ 0 for the numpy generator that draws the subsample.
      names: the parameter name to use in errors for each argument, overriding
        ``DEFAULT_NAMES`` (``DATASET``, ``CLASSES``, ``N_TRAIN``, ``N_TEST``, ``SEED``),
        e.g. ``{"classes": "BINARY_CLASSES", "n_test": "N_TEST_MULTI"}``.

    Returns:
      A ``Task`` with x ``(n, h, w, c)`` float32 in [0, 1], y ``(n,)`` ±1 or ``(n, k)``
      one-hot float32, and labels ``(n,)`` int64.

    Example:
      >>> task = load_task("mnist_embedded", classes=["3", "5"], n_train=100, n_test=50)
      >>> task.x_train.shape, task.y_train[:3]
      ((100, 28, 28, 1), array([ 1., -1.,  1.], dtype=float32))

    Raises:
      ValueError: a bad argument, or more examples requested than the split holds; the
        message names the parameter as ``names`` spells it.
    """
    unknown = set(names or {}) - set(DEFAULT_NAMES)
    if unknown:
        raise ValueError(f"names has unknown key(s) {sorted(unknown)}; allowed: "
                         f"{sorted(DEFAULT_NAMES)}.")
    label = {**DEFAULT_NAMES, **(names or {})}
    info = describe(dataset, label["dataset"])
    class_ids = info.class_ids(classes, label["classes"])
    n_train = validate.positive_int(label["n_train"], n_train)
    n_test = validate.positive_int(label["n_test"], n_test)
    seed = validate.nonnegative_int(label["seed"], seed)
    for split, n, key in (("train", n_train, "n_train"), ("test", n_test, "n_test")):
        info.check_available(split, class_ids, n, label[key])  # before reading any image

    rng = np.random.default_rng(seed)
    lookup = np.full(info.n_classes, -1, np.int64)
    lookup[list(class_ids)] = np.arange(len(class_ids))
    parts = {}
    for split, n in (("train", n_train), ("test", n_test)):
        images, labels = load_split(dataset, split, label["dataset"])
        pool = np.flatnonzero(np.isin(labels, class_ids))
        picked = np.sort(rng.choice(pool, size=n, replace=False))
        task_labels = lookup[labels[picked]]
        if len(class_ids) == 2:
            y = np.where(task_labels == 1, 1.0, -1.0).astype(np.float32)
        else:
            y = np.eye(len(class_ids), dtype=np.float32)[task_labels]
        parts[split] = tuple(_readonly(a) for a in (_as_unit_float(images[picked]), y, task_labels))

    return Task(*parts["train"], *parts["test"], dataset=info.dataset, classes=class_ids,
                class_names=tuple(info.class_names[c] for c in class_ids))
