"""Declarations and checks that several sections share: data, task, attack knobs, architectures.

One definition per knob, so ``EPS`` or ``N_TRAIN`` means (and is bounded) the same in
every section. Section modules call these factories with their own defaults and
meanings where those differ.
"""

from __future__ import annotations

from pathlib import Path
import tempfile

from ntkcompanion import architectures as _architectures
from ntkcompanion import data
from ntkcompanion import attacks as _attacks
from ntkcompanion.parameters import Param, fail

# Static ceilings that keep every loop and size finite whatever the memory says; the
# memory check (``ntkcompanion.cost``) is usually the tighter bound.
MAX_IMAGES = 1_000_000
MAX_ATTACK_STEPS = 1_000
MAX_SEEDS = 100
MAX_BLOCK = 100_000

ARCHITECTURES = tuple(_architectures.ARCHITECTURES)
MYRTLE_DEPTHS = tuple(_architectures.MYRTLE_LAYERS)
NORMS = _attacks.NORMS


# --- dataset metadata ----------------------------------------------------------------------------

# ``data.describe`` cached per file version: the checks ask for a run's classes and shape many times.
dataset_info = data.dataset_info


def image_shape(p) -> tuple:
    """``(h, w, c)`` of the run's dataset."""
    return tuple(dataset_info(p["DATASET"]).image_shape)


# --- declarations ------------------------------------------------------------------------------

def dataset(default="mnist_embedded") -> Param:
    return Param("DATASET", "str", "built-in dataset (ntkcompanion.data.DATASETS) or a path to an .npz file",
                 default=default)


def classes(name="CLASSES", default=(3, 5), *, meaning=None, min_len=None, max_len=None,
            allow_empty=True) -> Param:
    meaning = meaning or ("classes of the task, as indices or names: two give a binary task (first -1, second +1); "
                          "[] for all classes or three or more give one-hot targets")
    return Param(name, "list", meaning, item=Param("class", "class", "a class"), min_len=min_len,
                 max_len=max_len, allow_empty=allow_empty, distinct=True, default=list(default))


def n_train(default=60, low=2, meaning="training images") -> Param:
    return Param("N_TRAIN", "int", meaning, unit="images", low=low, high=MAX_IMAGES, default=default)


def n_test(default=40, low=1, meaning="test images") -> Param:
    return Param("N_TEST", "int", meaning, unit="images", low=low, high=MAX_IMAGES, default=default)


def seed() -> Param:
    return Param("SEED", "int", "seed of the data subsample (and of initialisations)", low=0, high=2**31 - 1,
                 default=0)


def output_dir(section: str) -> Param:
    return Param("OUTPUT_DIR", "str", "where metrics.json is written", default=f"results/{section}", shown=False)


def check_output_dir(p, name="OUTPUT_DIR") -> None:
    """``OUTPUT_DIR`` is a folder, or can be made one, and can be written to; nothing is created.

    The run writes there only at its end, so a path that is an existing file, lies under a
    file, or sits on a read-only or forbidden folder would otherwise fail after all the work.
    The write test is an unnamed temporary file in the nearest existing folder (gone when closed).
    """
    value = p[name]
    path = Path(value).expanduser()
    if path.exists() and not path.is_dir():
        fail(name, value, f"a folder for metrics.json, but {path.resolve()} is an existing file")
    folder = path
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        fail(name, value, f"a folder for metrics.json, but {folder.resolve()} is a file, so no folder can be made "
                          f"under it")
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        fail(name, value, f"a folder this run can write to, but {folder.resolve()} cannot be written "
                          f"({error.strerror or error})")


# An l2 ball of this radius (pixel units) already holds every image of a 32x32x3 set in [0, 1].
MAX_L2_EPS = 64.0


def eps(default=0.1, *, with_norm=False) -> Param:
    """``EPS``: at most 1; with a ``NORM`` parameter up to ``MAX_L2_EPS`` (l2), see :func:`check_eps`."""
    return Param("EPS", "float", "attack radius (images in [0, 1]; 8/255 on CIFAR-10)", unit="pixels",
                 low=0.0, high=MAX_L2_EPS if with_norm else 1.0, default=default)


def check_eps(*names):
    """Every radius in ``names`` (numbers or lists) is at most 1 when ``NORM`` is ``"linf"``."""

    def check(p):
        if p["NORM"] != "linf":
            return
        for name in names:
            values = p[name] if isinstance(p[name], list) else [p[name]]
            for i, v in enumerate(values):
                if v > 1.0:
                    fail(f"{name}[{i}]" if isinstance(p[name], list) else name, v,
                         "a number in [0, 1] for NORM = 'linf' (images are in [0, 1])")

    return check


def attack_steps(default=10, low=1, meaning="PGD iterations of every attack") -> Param:
    return Param("ATTACK_STEPS", "int", meaning, unit="steps", low=low, high=MAX_ATTACK_STEPS, default=default)


def attack_step_size(default=0.025) -> Param:
    return Param("ATTACK_STEP_SIZE", "float", "PGD step size (2.5 EPS / ATTACK_STEPS lets PGD cross the ball)",
                 unit="pixels", low=0.0, high=1.0, low_open=True, default=default)


def norm() -> Param:
    return Param("NORM", "choice", "threat model: l-infinity (the paper's) or l2 ball", choices=NORMS,
                 default="linf")


def architecture(name="ARCHITECTURE", default="fc") -> Param:
    return Param(name, "choice", "kernel architecture", choices=ARCHITECTURES, default=default)


def architectures(name="ARCHITECTURES", default=("fc", "conv"), *, allow_empty=False, meaning=None) -> Param:
    return Param(name, "list", meaning or "kernel architectures compared",
                 item=Param("architecture", "choice", "", choices=ARCHITECTURES), allow_empty=allow_empty,
                 max_len=len(ARCHITECTURES), distinct=True, default=list(default))


def depth(default=1) -> Param:
    return Param("DEPTH", "int", "hidden layers for fc and conv; myrtle takes 5, 7 or 10", low=1, high=64,
                 default=default)


def block(name, default, meaning) -> Param:
    return Param(name, "int", meaning, unit="images", low=1, high=MAX_BLOCK, default=default)


def fraction(name, default, meaning, *, low_open=False, high_open=False) -> Param:
    return Param(name, "float", meaning, low=0.0, high=1.0, low_open=low_open, high_open=high_open,
                 default=default)


# --- cross-parameter checks ----------------------------------------------------------------------

def check_dataset(p) -> None:
    """``DATASET`` is a built-in name or a readable ``.npz`` file (``data.describe`` names the fault)."""
    dataset_info(p["DATASET"])


def resolve_classes(p, name="CLASSES") -> tuple[int, ...]:
    """Class indices of the parameter ``name`` in the run's dataset (all if empty), named ``name`` in errors."""
    return dataset_info(p["DATASET"]).class_ids(p[name], name)


def check_classes(name="CLASSES", *, sizes: str = "task"):
    """Classes exist in the dataset, no repeats, and their number fits ``sizes``.

    ``sizes``: ``"task"`` ([] or ≥ 2), ``"binary"`` (2) or ``"multi"`` ([] or ≥ 3).
    """
    allowed = {"task": "[] (all classes) or at least two classes", "binary": "exactly two classes (the binary task)",
               "multi": "[] (all classes) or at least three classes"}[sizes]

    def check(p):
        value = p[name]
        n = len(value)
        ok = {"task": n != 1, "binary": n == 2, "multi": n == 0 or n >= 3}[sizes]
        if not ok:
            fail(name, value, allowed)
        resolve_classes(p, name)

    return check


def check_available(count="N_TRAIN", split="train", classes_name="CLASSES"):
    """``count`` images exist in ``split`` for the chosen classes (``classes_name=None``: every class)."""

    def check(p):
        ids = resolve_classes(p, classes_name) if classes_name else None
        where = f"{classes_name} = {p[classes_name]!r}" if classes_name else None
        dataset_info(p["DATASET"]).check_available(split, ids, p[count], count, where)  # the data layer's rule

    return check


def check_depth(arch_name="ARCHITECTURE", depth_name="DEPTH"):
    """Myrtle takes depth 5, 7 or 10; fc and conv any depth ≥ 1 (already checked)."""

    def check(p):
        archs, depths = p[arch_name], p[depth_name]
        pairs = (zip(archs, depths if isinstance(depths, list) else [depths] * len(archs))
                 if isinstance(archs, list) else [(archs, depths)])
        for i, (a, d) in enumerate(pairs):
            if a == "myrtle" and d not in MYRTLE_DEPTHS:
                where = f"{depth_name}[{i}]" if isinstance(depths, list) else depth_name
                fail(where, d, f"one of {', '.join(map(str, MYRTLE_DEPTHS))} for myrtle")

    return check


def n_outputs(p, name="CLASSES") -> int:
    """Outputs of the task's models: 1 for two classes (±1 targets), else the number of classes (one-hot)."""
    n = len(resolve_classes(p, name))
    return 1 if n == 2 else n


def task_checks(*, depth=("ARCHITECTURE", "DEPTH")) -> list:
    """The checks every single-task section starts with: the dataset, CLASSES, N_TRAIN and N_TEST
    against the images available for those classes, and (unless ``depth`` is None) the depth for
    the architecture(s)."""
    checks = [check_dataset, check_classes(), check_available("N_TRAIN", "train"),
              check_available("N_TEST", "test")]
    return checks + ([check_depth(*depth)] if depth else [])


def feature_derive(p, available=None) -> dict:
    """Call options of the eigen-feature sections: ``spectrum`` for ``decomposition.decompose`` and
    ``attack`` for ``feature_attacks`` (PGD, the attack that measures γ)."""
    return {"spectrum": dict(architecture=p["ARCHITECTURE"], depth=p["DEPTH"], batch_size=p["BATCH_SIZE"],
                             rcond=p["RCOND"]),
            "attack": dict(attack="pgd", eps=p["EPS"], step_size=p["ATTACK_STEP_SIZE"], steps=p["ATTACK_STEPS"],
                           feature_chunk=p["FEATURE_CHUNK"])}
