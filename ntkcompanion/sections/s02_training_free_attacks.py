"""Section 2, training-free attacks: FGSM, PGD and a random-sign control against kernel predictors.

Every budget of ``EPS_LIST`` (with 0 and ``EPS``) is attacked on a binary and an all-class task.

Its work and memory are modelled in ``ntkcompanion.cost._s02``.
"""

import dataclasses

from ntkcompanion.parameters import Param, at_most
from ntkcompanion.sections import _common as c

SECTION = "02_training_free_attacks"

PARAMETERS = [
    c.dataset(),
    c.classes(meaning="the binary task: two classes (first -1, second +1), indices or names", min_len=2,
              max_len=2, allow_empty=False),
    c.n_train(default=60, low=1, meaning="training images of the binary task"),
    c.n_test(default=20, meaning="test images attacked on the binary task"),
    c.architectures(meaning="kernels attacked on the binary task (myrtle: a GPU job)"),
    c.architectures("MULTICLASS_ARCHITECTURES", ("fc",), allow_empty=True,
                    meaning="kernels also attacked on a task with all the dataset's classes; [] skips that task"),
    Param("N_TRAIN_MULTI", "int", "training images of the all-class task", unit="images", low=1,
          high=c.MAX_IMAGES, default=200),
    Param("N_TEST_MULTI", "int", "test images of the all-class task", unit="images", low=1, high=c.MAX_IMAGES,
          default=50),
    c.depth(default=2),
    Param("EPS_LIST", "list", "budgets of the accuracy-vs-epsilon curves (0 and EPS are added)",
          item=Param("eps", "float", "", low=0.0, high=c.MAX_L2_EPS), max_len=64, default=[0.05, 0.1, 0.2]),
    dataclasses.replace(c.eps(0.1, with_norm=True), low_open=True,
                        meaning="headline attack radius: adversarial images, the table (8/255 on CIFAR-10)"),
    c.attack_steps(meaning="PGD iterations (FGSM is a single step of size epsilon)"),
    dataclasses.replace(c.attack_step_size(0.025),
                        meaning="PGD step size at EPS; at other budgets scaled in proportion to epsilon"),
    c.norm(),
    Param("N_SHOW", "int", "test images in the figure of adversarial examples (at most N_TEST)", unit="images",
          low=1, high=32, default=6),
    Param("SEED", "int", "seed of the data subsample and of the random signs", low=0, high=2**31 - 1, default=0),
    c.block("BATCH_SIZE", 100, "kernel block size and test images per attack batch: bounds memory"),
    c.output_dir(SECTION),
]


def _multi(check):
    """Runs ``check`` only when the all-class task is run."""
    def run(p):
        if p["MULTICLASS_ARCHITECTURES"]:
            check(p)
    return run


CHECKS = [
    c.check_dataset,
    c.check_classes(sizes="binary"),
    c.check_available("N_TRAIN", "train"),
    c.check_available("N_TEST", "test"),
    _multi(c.check_available("N_TRAIN_MULTI", "train", None)),
    _multi(c.check_available("N_TEST_MULTI", "test", None)),
    c.check_depth("ARCHITECTURES", "DEPTH"),
    c.check_depth("MULTICLASS_ARCHITECTURES", "DEPTH"),
    c.check_eps("EPS_LIST", "EPS"),
    at_most("N_SHOW", "N_TEST"),
]


# The notebook's steps. Imports stay inside the functions: the cost model imports this module for
# its declarations alone.

def load_tasks(p) -> dict:
    """The run's tasks, drawn once with ``SEED`` from the dataset's own train and test splits.

    Returns:
      ``{"binary": Task}`` (``CLASSES``, ±1 targets, ``N_TRAIN``/``N_TEST`` images) and, when
      ``MULTICLASS_ARCHITECTURES`` is not empty, ``"all classes"``: every class of the dataset,
      one-hot targets, ``N_TRAIN_MULTI``/``N_TEST_MULTI`` images.
    """
    from ntkcompanion import data

    tasks = {"binary": data.load_task(p["DATASET"], p["CLASSES"], p["N_TRAIN"], p["N_TEST"], p["SEED"])}
    if p["MULTICLASS_ARCHITECTURES"]:
        tasks["all classes"] = data.load_task(p["DATASET"], [], p["N_TRAIN_MULTI"], p["N_TEST_MULTI"], p["SEED"],
                                              names={"n_train": "N_TRAIN_MULTI", "n_test": "N_TEST_MULTI"})
    return tasks


def kernels_per_task(p) -> dict:
    """``{task name: [architecture, ...]}``: ``ARCHITECTURES`` on the binary task and
    ``MULTICLASS_ARCHITECTURES`` on all classes (left out when empty)."""
    out = {"binary": list(p["ARCHITECTURES"])}
    if p["MULTICLASS_ARCHITECTURES"]:
        out["all classes"] = list(p["MULTICLASS_ARCHITECTURES"])
    return out


def budgets(p) -> list:
    """The budget grid of the curves: ``EPS_LIST`` with 0 and ``EPS``, sorted, without duplicates."""
    return sorted({0.0, float(p["EPS"]), *map(float, p["EPS_LIST"])})


def sweep_options(p) -> dict:
    """Keyword arguments of ``budget_sweeps.kernel_sweeps`` for this run.

    PGD takes ``ATTACK_STEPS`` steps of ``ATTACK_STEP_SIZE`` at ``EPS`` and of
    ``ATTACK_STEP_SIZE · ε / EPS`` at every other budget ε (every ball crossed alike); the
    perturbed images at ``EPS`` are kept for the figure.
    """
    return {"eps": budgets(p), "depth": p["DEPTH"], "batch_size": p["BATCH_SIZE"], "steps": p["ATTACK_STEPS"],
            "step_size": p["ATTACK_STEP_SIZE"], "step_at": p["EPS"], "norm": p["NORM"], "seed": p["SEED"],
            "keep": p["EPS"]}


def headline_architecture(p) -> str:
    """The kernel claim 1 is decided on: FC if the binary task attacks it, else the first listed."""
    return "fc" if "fc" in p["ARCHITECTURES"] else p["ARCHITECTURES"][0]


def _half_text(eps_half, low, high) -> str:
    """``"ε½ [low, high]"`` to three significant digits; ``"not reached"`` when ε½ is NaN (never halves)."""
    return "not reached" if eps_half != eps_half else f"{eps_half:.3g} [{low:.3g}, {high:.3g}]"


@dataclasses.dataclass(frozen=True)
class BudgetTables:
    """The accuracy-vs-budget curves of every task and kernel, as tidy tables.

    Attributes:
      summaries: ``{(task title, architecture): evidence.claims.budget_curves(...)}``.
      curves: DataFrame, one row per task, architecture, kind and budget: ``task``, ``architecture``,
        ``kind``, ``eps``, ``accuracy``, ``ci_low``, ``ci_high``, ``n`` (95% Wilson interval).
      halving: DataFrame, one row per task, architecture and kind: ``eps_half`` (NaN when the
        accuracy never halves on the grid), ``ci_low``, ``ci_high`` (95% bootstrap over test
        points) and ``text``, ``"ε½ [low, high]"`` or ``"not reached"``.
    """

    summaries: dict
    curves: object
    halving: object

    def half_text(self, kind: str = "PGD"):
        """``"ε½ [low, high]"`` of ``kind`` as a Series indexed by ``(task, architecture)``."""
        return self.halving[self.halving["kind"] == kind].set_index(["task", "architecture"])["text"]

    def at(self, eps: float):
        """The table of the page: per task and kernel, the accuracy of each kind at ``eps`` (rounded to
        three decimals) and the text ``"ε½ [95% CI]"`` of each kind."""
        index = ["task", "architecture"]
        rows = self.curves[self.curves["eps"] == eps]
        accuracy = rows.pivot_table(index=index, columns="kind", values="accuracy", sort=False)
        halves = self.halving.pivot_table(index=index, columns="kind", values="text", aggfunc="first", sort=False)
        return accuracy.round(3).add_prefix("at EPS: ").join(halves.add_prefix("ε½ [95% CI]: "))


def budget_tables(tasks: dict, fits: dict, *, seed: int = 0) -> BudgetTables:
    """Curves with intervals and halving budgets of every sweep (``evidence.claims.budget_curves``).

    Args:
      tasks: ``{task name: data.Task}`` (for the task titles, ``Task.title``).
      fits: ``{task name: {architecture: budget_sweeps.KernelSweep}}`` (``budget_sweeps.kernel_sweeps``).
      seed: of the bootstrap over test points behind each ε½ interval.
    """
    import pandas as pd

    from ntkcompanion.evidence import claims

    summaries = {(tasks[name].title, a): claims.budget_curves(f.sweep.eps, f.sweep.correct, seed=seed)
                 for name, by_arch in fits.items() for a, f in by_arch.items()}
    curves, halving = (pd.concat([pd.DataFrame(s[part]).assign(task=t, architecture=a)
                                  for (t, a), s in summaries.items()], ignore_index=True)
                       for part in ("curves", "halving"))
    halving["text"] = [_half_text(*row) for row in halving[["eps_half", "ci_low", "ci_high"]].to_numpy()]
    return BudgetTables(summaries, curves, halving)


def _halving_phrase(d: dict) -> str:
    """Claim 1's halving budget in words, from the verdict's details (``eps_half``, ``eps_half_ci``, ``eps``)."""
    if d["eps_half"] == d["eps_half"]:  # not NaN: the attacked accuracy halves on the grid
        low, high = d["eps_half_ci"]
        return f"halve that accuracy at a budget of ε½ = {d['eps_half']:.3g} (95% CI [{low:.3g}, {high:.3g}])"
    return (f"do not halve that accuracy anywhere on the grid (up to ε = {d['eps'][-1]:.3g}, where the "
            "comparison below is made)")


def report_values(p, tasks: dict, tables: BudgetTables, verdict, sensitivity: list) -> tuple[dict, dict]:
    """The ``metrics`` and ``glue`` of ``record.report`` for this run.

    Args:
      p: the run's parameters.
      tasks: ``{task name: data.Task}`` (``load_tasks``).
      tables: ``budget_tables(...)``.
      verdict: claim 1's ``Verdict`` on the binary task's ``headline_architecture(p)``.
      sensitivity: ``evidence.claims.threshold_sensitivity`` rows of that verdict.

    Returns:
      ``(metrics, glue)``: metrics hold each task's classes and sizes, every curve, the accuracies
      at ``EPS`` and ε½ of the headline kernel, and the threshold sensitivity; glue holds the
      numbers and phrases that the page's "What we found" cites.
    """
    binary, arch, d = tasks["binary"], headline_architecture(p), verdict.details
    rows = tables.summaries[binary.title, arch]["curves"]
    headline = {r["kind"]: r["accuracy"] for r in rows if r["eps"] == p["EPS"]}
    half = tables.half_text("PGD")
    multi = [f"{a}: {text}" for (t, a), text in half.items() if t != binary.title]
    metrics = {
        "tasks": {k: {"classes": list(t.class_names), "n_train": t.n_train, "n_test": t.n_test}
                  for k, t in tasks.items()},
        "curves": {f"{t} / {a}": s for (t, a), s in tables.summaries.items()},
        "accuracy_at_eps": {"eps": p["EPS"], **headline},
        "eps_half": {"estimate": d["eps_half"], "ci": d["eps_half_ci"], "attack": d["attack"]},
        "threshold_sensitivity": sensitivity,
    }
    glue = {
        "headline_arch": arch.upper(), "binary_task": binary.title, "n_train": binary.n_train,
        "n_test": binary.n_test, "eps": p["EPS"], "attack_steps": p["ATTACK_STEPS"],
        "norm_name": {"linf": "ℓ∞", "l2": "ℓ2"}[p["NORM"]], "clean_acc": d["accuracy"][0],
        "fgsm_acc": headline["FGSM"], "pgd_acc": headline["PGD"], "noise_acc": headline["noise"],
        "halving_phrase": _halving_phrase(d), "noise_at_half": verdict.control_value,
        "fgsm_half": tables.half_text("FGSM")[binary.title, arch],
        "multi_phrase": "; ".join(multi) or "not run (MULTICLASS_ARCHITECTURES is empty)",
    }
    return metrics, glue
