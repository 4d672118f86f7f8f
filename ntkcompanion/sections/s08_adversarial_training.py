"""Section 8, adversarial training: kernel dynamics of practical networks under standard and adversarial training.

:func:`train_config` turns the run's parameters into the ``TrainConfig`` of every run. Its work and
memory are modelled in ``ntkcompanion.cost._s08``.
"""

from ntkcompanion.adversarial_training import MODES, NETWORKS, TrainConfig, switch_batches
from ntkcompanion.parameters import Param, at_most, fail
from ntkcompanion.sections import _common as c

__all__ = ["SECTION", "PARAMETERS", "CHECKS", "seeds", "train_config"]

SECTION = "08_adversarial_training"
MAX_EPOCHS = 1_000
MAX_MLP_WIDTH = 1_000_000
MAX_CNN_WIDTH = 64.0  # 2048 channels in the first stage
MAX_SEEDS = 20

PARAMETERS = [
    c.dataset(),
    c.classes(default=(), meaning="[] for all classes (one-hot, softmax cross-entropy); two classes give a binary "
              "task"),
    c.n_train(default=200, meaning="training images (at least N_SNAPSHOT and BATCH_SIZE)"),
    c.n_test(default=50, meaning="test images for clean and robust accuracy"),
    Param("NETWORK", "choice", "the authors' 6-conv CNN or a fully connected network", choices=NETWORKS,
          default="mlp"),
    Param("WIDTH", "float", "cnn: channel multiplier (1.0 is 32-64-128 channels); mlp: hidden units (an integer)",
          low=0.0, high=MAX_MLP_WIDTH, low_open=True, default=32),
    Param("DEPTH", "int", "cnn: stages of two convolutions (3 is the authors'); mlp: hidden layers", low=1, high=16,
          default=1),
    Param("EPOCHS", "int", "training epochs", unit="epochs", low=1, high=MAX_EPOCHS, default=3),
    Param("LEARNING_RATE", "float", "SGD learning rate, no momentum", low=0.0, high=10.0, low_open=True,
          default=0.05),
    Param("BATCH_SIZE", "int", "images per SGD step (at most N_TRAIN)", unit="images", low=1, high=c.MAX_IMAGES,
          default=50),
    Param("MODES", "list", "runs, distinct, including 'standard' and at least one adversarial one",
          item=Param("mode", "choice", "", choices=MODES), min_len=2, max_len=len(MODES), distinct=True,
          default=["standard", "fgsm", "pgd"]),
    c.eps(with_norm=True),
    c.attack_step_size(),
    c.attack_steps(default=3, meaning="PGD steps in training (20 for the authors)"),
    Param("RANDOM_START", "bool", "the PGD training attack starts at a random point of the ball", default=False),
    c.norm(),
    Param("EVAL_ATTACK_STEPS", "int", "steps of the PGD (random start, radius EPS, step ATTACK_STEP_SIZE) behind "
          "robust test accuracy", unit="steps", low=1, high=c.MAX_ATTACK_STEPS, default=5),
    Param("N_SNAPSHOT", "int", "training images in the fixed kernel-snapshot subset (at most N_TRAIN)",
          unit="images", low=2, high=c.MAX_IMAGES, default=10),
    Param("SNAPSHOT_EVERY", "int", "epochs between kernel snapshots (epoch 0 and the last are always included)",
          unit="epochs", low=1, high=MAX_EPOCHS, default=1),
    c.block("KERNEL_BATCH_SIZE", 10, "images per block of the empirical NTK: bounds memory"),
    Param("TOP_K", "int", "eigen-directions in the 'top' part and in the spectral mass (at most N_SNAPSHOT x "
          "logits)", low=1, high=c.MAX_IMAGES, default=10),
    Param("TRANSIENT_EPOCHS", "int", "early epochs left out of the averaged velocity and top-k mass (Fort et al.'s "
          "chaotic transient); below EPOCHS", unit="epochs", low=0, high=MAX_EPOCHS, default=1),
    Param("SWITCH_EPOCHS", "list", "increasing epochs from which the linearised network is trained (each below "
          "EPOCHS; fractions switch inside an epoch, at least one SGD step in)",
          item=Param("epoch", "float", "", low=0, high=MAX_EPOCHS), max_len=32, increasing=True,
          default=[0, 0.5, 1]),
    Param("LINEARISED_MODES", "list", "runs repeated with linearisation: [] for none, or 'standard' and an "
          "adversarial mode of MODES", item=Param("mode", "choice", "", choices=MODES), max_len=len(MODES),
          allow_empty=True, distinct=True, default=["standard", "pgd"]),
    Param("N_SEEDS", "int", "seeds of every run (SEED, SEED + 1, ...): initialisation, batch order, snapshot subset",
          low=1, high=MAX_SEEDS, default=2),
    c.fraction("TARGET_CLEAN_ACCURACY", 0.95, "clean test accuracy standard training must reach for the verdicts "
               "to count (0.95 on MNIST)"),
    c.fraction("TARGET_ROBUST_ACCURACY", 0.5, "robust (PGD) test accuracy adversarial training must reach for the "
               "verdicts to count"),
    c.seed(),
    c.output_dir(SECTION),
]


def _check_width(p):
    if p["NETWORK"] == "mlp":
        if not isinstance(p["WIDTH"], int):
            fail("WIDTH", p["WIDTH"], f"an integer in [1, {MAX_MLP_WIDTH}] (hidden units) for NETWORK = 'mlp'")
    elif p["WIDTH"] > MAX_CNN_WIDTH:
        fail("WIDTH", p["WIDTH"], f"a number in (0, {MAX_CNN_WIDTH:g}] (channel multiplier) for NETWORK = 'cnn'")


def _check_modes(p):
    modes = p["MODES"]
    if "standard" not in modes or len(set(modes)) != len(modes):
        fail("MODES", modes, "distinct modes including 'standard' and at least one of 'fgsm', 'pgd'")
    for i, mode in enumerate(p["LINEARISED_MODES"]):
        if mode not in modes:
            fail(f"LINEARISED_MODES[{i}]", mode, f"one of MODES = {modes!r}")
    linearised = p["LINEARISED_MODES"]
    if linearised and ("standard" not in linearised or len(set(linearised)) < 2 or
                       len(set(linearised)) != len(linearised)):
        fail("LINEARISED_MODES", linearised, "[] or distinct modes including 'standard' and an adversarial one")


def _check_epochs(p):
    switch = p["SWITCH_EPOCHS"]
    for i, e in enumerate(switch):
        if e >= p["EPOCHS"]:
            fail(f"SWITCH_EPOCHS[{i}]", e, f"a number of epochs in [0, EPOCHS = {p['EPOCHS']}) (a switch at the "
                 "last epoch is the full run)")
    if sorted(set(switch)) != switch:
        fail("SWITCH_EPOCHS", switch, "increasing, distinct epochs")
    if p["TRANSIENT_EPOCHS"] >= p["EPOCHS"]:
        fail("TRANSIENT_EPOCHS", p["TRANSIENT_EPOCHS"], f"an integer in [0, EPOCHS = {p['EPOCHS']})")


def _check_switch_steps(p):
    for i, e in enumerate(p["SWITCH_EPOCHS"]):
        try:
            switch_batches(e, p["N_TRAIN"], p["BATCH_SIZE"])
            continue
        except ValueError:
            steps = -(-p["N_TRAIN"] // p["BATCH_SIZE"])
        fail(f"SWITCH_EPOCHS[{i}]", e, f"a whole epoch or a fraction that is at least one and less than all "
             f"{steps} SGD steps of an epoch (N_TRAIN / BATCH_SIZE)")


def _check_top_k(p):
    rows = p["N_SNAPSHOT"] * c.n_outputs(p)
    if p["TOP_K"] > rows:
        fail("TOP_K", p["TOP_K"], f"at most N_SNAPSHOT x logits = {rows}")


CHECKS = [
    *c.task_checks(depth=None),
    _check_width,
    _check_modes,
    _check_epochs,
    c.check_eps("EPS"),
    at_most("BATCH_SIZE", "N_TRAIN"),
    _check_switch_steps,
    at_most("N_SNAPSHOT", "N_TRAIN"),
    at_most("SNAPSHOT_EVERY", "EPOCHS"),
    at_most("KERNEL_BATCH_SIZE", "N_SNAPSHOT"),  # a block holds at most the snapshot's images
    _check_top_k,
]


def seeds(p) -> list[int]:
    """The seeds of every run: ``SEED, SEED + 1, ..., SEED + N_SEEDS - 1``."""
    return list(range(p["SEED"], p["SEED"] + p["N_SEEDS"]))


def train_config(p) -> TrainConfig:
    """The ``TrainConfig`` shared by every run (mode and seed are set per run).

    Robust accuracy is measured by PGD with a random start, radius ``EPS``, step ``ATTACK_STEP_SIZE``
    and ``EVAL_ATTACK_STEPS`` steps, at the start, at every whole switch epoch (so the linearised runs
    start from evaluated checkpoints) and at the end.
    """
    return TrainConfig(
        network=p["NETWORK"], width=p["WIDTH"], depth=p["DEPTH"], eps=p["EPS"], step_size=p["ATTACK_STEP_SIZE"],
        steps=p["ATTACK_STEPS"], random_start=p["RANDOM_START"], norm=p["NORM"], learning_rate=p["LEARNING_RATE"],
        batch_size=p["BATCH_SIZE"], epochs=p["EPOCHS"], seed=p["SEED"], eval_eps=p["EPS"],
        eval_step_size=p["ATTACK_STEP_SIZE"], eval_steps=p["EVAL_ATTACK_STEPS"], eval_every=p["EPOCHS"],
        eval_at=tuple(int(e) for e in p["SWITCH_EPOCHS"] if float(e).is_integer()),
        snapshot_every=p["SNAPSHOT_EVERY"], n_snapshot=p["N_SNAPSHOT"],
        kernel_batch_size=p["KERNEL_BATCH_SIZE"])
