r"""Accuracy against the attack budget: FGSM, PGD and random-sign noise over a grid of ε.

A :class:`Sweep` holds one model's per-point correctness under each kind of perturbation at every
budget of a grid, the input of the claim-1 statistics (``evidence.claims.budget_curves``,
``evidence.claims.claim1``). :func:`kernel_sweeps` fits the kernel predictor of each architecture
on each task (from the cached Gram matrix) and sweeps it: section 2 in one call;
:func:`budget_tables` turns every sweep into the tidy curves and halving budgets of its figure and
table. The attacks themselves are :mod:`ntkcompanion.attacks`.
"""

import dataclasses

import numpy as np
import pandas as pd

from ntkcompanion import attacks, kernels, predictor, progress, validate
from ntkcompanion.evidence import claims

__all__ = ["KINDS", "Sweep", "sweep", "KernelSweep", "kernel_sweeps", "BudgetTables", "budget_tables"]

KINDS = ("FGSM", "PGD", "noise")


@dataclasses.dataclass(frozen=True)
class Sweep:
    """Per-point correctness of one model under each attack at every budget of a grid.

    Attributes:
      eps: ``(n_eps,)`` budgets, increasing.
      correct: kind (``"FGSM"``, ``"PGD"``, ``"noise"``) → ``(n_eps, n)`` uint8, 1 where the model is right.
      adversarial: kind → ``(n, h, w, c)`` perturbed inputs at the budget ``keep`` (if it was asked for).
    """

    eps: np.ndarray
    correct: dict
    adversarial: dict

    def accuracy(self, kind: str) -> np.ndarray:
        """``(n_eps,)`` accuracy under ``kind``."""
        return self.correct[kind].mean(axis=1)


def sweep(logits_fn, x, y, eps, *, steps: int, step_size: float, step_at: float | None = None,
          norm: str = "linf", kinds=KINDS, batch_size: int | None = None, seed: int = 0,
          keep: float | None = None) -> Sweep:
    r"""Accuracy-vs-budget curves: FGSM, PGD and the random-sign control at every ε, per test point.

    At each budget :math:`\epsilon` of the grid, each input is attacked by FGSM (:func:`fgsm`),
    by PGD from the clean input (:func:`pgd`, last iterate) with ``steps`` steps of size
    :math:`s(\epsilon)`, and perturbed by :func:`random_sign` noise of the same size; the model's
    per-point correctness is kept, so that every interval downstream is a paired bootstrap over
    the same points. With ``step_at``, the step size scales with the budget,
    :math:`s(\epsilon) = s \cdot \epsilon / \epsilon_{at}` (``step_size`` is the step at
    ``step_at``), so that ``steps`` steps cross every ball alike; without it every budget uses
    ``step_size``. At :math:`\epsilon = 0` nothing moves and no attack is run.

    Args:
      logits_fn: ``x (n, ...) -> (n,)`` or ``(n, k)``.
      x: ``(n, h, w, c)`` inputs; y: ``(n,)`` ±1 or ``(n, k)`` one-hot labels.
      eps: budgets, any order (sorted, duplicates dropped).
      steps, step_size, step_at: PGD iterations and step size (above).
      norm: ``"linf"`` or ``"l2"``.
      kinds: a subset of :data:`KINDS`.
      batch_size: inputs per attack call: bounds memory.
      seed: of the random signs.
      keep: a budget of the grid whose perturbed inputs are returned in ``Sweep.adversarial``.

    Returns:
      :class:`Sweep`.
    """
    grid = np.unique(np.asarray(eps, float))
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        raise ValueError(f"kinds = {list(kinds)!r} is not allowed: expected a non-empty subset of {KINDS}.")
    if keep is not None and keep not in grid:
        raise ValueError(f"keep = {keep!r} is not allowed: expected one of the budgets {grid.tolist()}.")
    size = len(x) if batch_size is None else validate.positive_int("batch_size", batch_size)

    def batched(attack):
        return np.concatenate([np.asarray(attack(x[j:j + size], y[j:j + size])) for j in range(0, len(x), size)])

    out = {k: np.zeros((grid.size, len(x)), np.uint8) for k in kinds}
    kept, clean = {}, None
    for i, e in enumerate(grid):
        s = step_size if step_at is None or e == 0 else step_size * e / step_at
        for kind in kinds:
            if e == 0:  # nothing moves: the clean inputs, classified once
                moved = np.asarray(x)
                clean = attacks.correct(logits_fn, moved, y, batch_size=size) if clean is None else clean
                out[kind][i] = clean
            else:
                if kind == "noise":  # drawn for all inputs at once: independent of batch_size
                    moved = attacks.random_sign(x, eps=e, norm=norm, seed=seed)
                elif kind == "FGSM":
                    moved = batched(lambda a, b: attacks.fgsm(logits_fn, a, b, eps=e, norm=norm))
                else:
                    moved = batched(lambda a, b: attacks.pgd(logits_fn, a, b, eps=e, step_size=s, steps=steps,
                                                             norm=norm))
                out[kind][i] = attacks.correct(logits_fn, moved, y, batch_size=size)
            if keep is not None and e == keep:
                kept[kind] = moved
    return Sweep(grid, out, kept)


@dataclasses.dataclass(frozen=True)
class KernelSweep:
    r"""A kernel predictor fitted on one task, and its :class:`Sweep` on that task's test images.

    Attributes:
      predict_fn: ``x (n, h, w, c) -> (n,)`` or ``(n, k)``, the infinite-width predictor
        :math:`f_\infty(x) = \Theta(x, X)\,\alpha` (``predictor.fit``).
      sweep: its per-point correctness under each attack at every budget.
    """

    predict_fn: object
    sweep: Sweep

    def examples(self, x, n: int, kind: str = "PGD"):
        """The first ``n`` perturbed inputs of ``kind`` at the kept budget and the predictor's labels.

        Args:
          x: ``(n_test, h, w, c)`` the clean inputs the sweep attacked, in the same order.
          n: how many, from the first.
          kind: a kind kept by the sweep (``sweep(..., keep=...)``).

        Returns:
          ``(x_adv (n, h, w, c), clean labels (n,), adversarial labels (n,))``, labels as class indices.
        """
        if kind not in self.sweep.adversarial:
            raise ValueError(f"kind = {kind!r} is not allowed: the sweep kept {sorted(self.sweep.adversarial)} "
                             "(pass keep= to sweep to keep the perturbed inputs).")
        x_adv = self.sweep.adversarial[kind][:n]
        return x_adv, attacks.predicted_labels(self.predict_fn, x[:n]), attacks.predicted_labels(self.predict_fn, x_adv)


def kernel_sweeps(tasks: dict, architectures: dict, eps, *, depth: int, batch_size: int | None = None,
                  **options) -> dict:
    r"""The training-free attack: fit each kernel predictor in closed form, then :func:`sweep` it.

    For each task and each architecture listed for it, the kernel predictor

    .. math::
        f_\infty(x) = \Theta(x, X)\,\Theta(X, X)^{-1} Y

    is fitted from the training Gram matrix (``kernels.gram``, content-addressed cache) with the
    kernel function of ``kernels.kernel_fn`` (the closed form for FC nets, faster inside the attack
    loops), and its test images are attacked at every budget of ``eps``; :math:`\alpha =
    \Theta(X, X)^{-1} Y` stays fixed, so the attacks differentiate :math:`\Theta(x, X)` only.

    Args:
      tasks: ``{name: data.Task}`` with ``x_train (n, h, w, c)``, ``y_train`` (``(n,)`` ±1 or
        ``(n, k)`` one-hot), ``x_test (m, h, w, c)`` and ``y_test``.
      architectures: ``{task name: [architecture, ...]}``, the kernels attacked on each task
        (``"fc"``, ``"conv"``, ``"myrtle"``); an empty list skips the task.
      eps: the budgets of the grid (as in :func:`sweep`).
      depth: hidden layers of every kernel (Myrtle: 5, 7 or 10).
      batch_size: block size of the Gram matrices and test images per attack call: bounds memory.
      **options: passed to :func:`sweep` (``steps``, ``step_size``, ``step_at``, ``norm``, ``seed``,
        ``keep``, ``kinds``).

    Returns:
      ``{task name: {architecture: KernelSweep}}``, in the order of ``architectures``.
    """
    unknown = sorted(set(architectures) - set(tasks))
    if unknown:
        raise ValueError(f"architectures names the tasks {unknown}, which are not among the tasks "
                         f"{sorted(tasks)}.")
    runs = [(name, a) for name, archs in architectures.items() for a in archs]
    out = {name: {} for name, archs in architectures.items() if archs}
    for name, a in progress.bar(runs, desc="attack sweeps"):
        t = tasks[name]
        gram = kernels.gram(t.x_train, None, a, depth, batch_size=batch_size)
        fn = predictor.fit(kernels.kernel_fn(a, depth), t.x_train, t.y_train, k_train_train=gram)
        out[name][a] = KernelSweep(fn, sweep(fn, t.x_test, t.y_test, eps, batch_size=batch_size, **options))
    return out


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
    curves: pd.DataFrame
    halving: pd.DataFrame

    def half_text(self, kind: str = "PGD") -> pd.Series:
        """``"ε½ [low, high]"`` of ``kind`` as a Series indexed by ``(task, architecture)``."""
        return self.halving[self.halving["kind"] == kind].set_index(["task", "architecture"])["text"]

    def at(self, eps: float) -> pd.DataFrame:
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
      fits: ``{task name: {architecture: KernelSweep}}`` (:func:`kernel_sweeps`).
      seed: of the bootstrap over test points behind each ε½ interval.
    """
    summaries = {(tasks[name].title, a): claims.budget_curves(f.sweep.eps, f.sweep.correct, seed=seed)
                 for name, by_arch in fits.items() for a, f in by_arch.items()}
    curves, halving = (pd.concat([pd.DataFrame(s[part]).assign(task=t, architecture=a)
                                  for (t, a), s in summaries.items()], ignore_index=True)
                       for part in ("curves", "halving"))
    halving["text"] = [_half_text(*row) for row in halving[["eps_half", "ci_low", "ci_high"]].to_numpy()]
    return BudgetTables(summaries, curves, halving)
