r"""Do the kernel's adversarial examples fool finite networks with that kernel, more so the wider they are?

Paper claim 2 (Tsilivis & Kempe 2022, §3): adversarial examples computed *training-free* on the
NTK predictor transfer to finite-width networks whose NTK it is, in the lazy regime. The authors
released no code for it; :func:`run` is the experiment:

1. The kernel predictor :math:`f_t(x) = \Theta(x, X)\Theta(X,X)^{-1}(I - e^{-\Theta(X,X) t})Y` at the
   time :math:`t = \eta \cdot \text{steps}` the networks train for (``lazy_training``'s time convention),
   and PGD against it, once: :math:`x^{adv}_\Theta`, shared by every network.
2. For every width × seed: a registry network (``lazy_training.train_ntk_parameterised``, centred
   by default) with
   its clean test accuracy; its accuracy on :math:`x^{adv}_\Theta` (**transfer**); on PGD against
   itself (**white-box**); the kernel predictor's accuracy on the network's own adversarial
   examples (**reverse** transfer); the distance of its test outputs to :math:`f_t`; and its
   laziness (``lazy_training.laziness``).
3. The trend: Spearman's rank correlation between width and transfer success
   :math:`1 - \text{transfer accuracy}`, over all (width, seed) runs (:func:`trend`).

Narrow networks are less robust to *any* perturbation, which can hide a rise in transfer with
width; the table therefore also holds the **transfer ratio**
:math:`(\text{clean} - \text{transfer}) / (\text{clean} - \text{white-box})`: the share of the
white-box attack's damage that the kernel's examples achieve (1: as good as attacking the net itself).

Example:
    >>> result = run(task.x_train, task.y_train, task.x_test, task.y_test, widths=[16, 256, 2048],
    ...              seeds=[0, 1], steps=300, eps=0.1, step_size=0.025, attack_steps=20)
    >>> result.summary["transfer_accuracy"]            # mean and sd per width
    >>> result.trends["transfer_success"]              # {"rho", "p_value", "n", "holds", ...}
"""

import dataclasses
import time
import warnings

import numpy as np
import pandas as pd
import scipy.stats

from ntkcompanion import architectures, attacks, kernels, labels, lazy_training, predictor, validate
from ntkcompanion import progress as _progress

__all__ = ["METRICS", "EXPECTED_TRENDS", "TransferResult", "run", "summarize", "trend", "trends"]

# Per-run columns of the table, besides architecture, depth, width and seed.
METRICS = (
    "clean_accuracy", "transfer_accuracy", "whitebox_accuracy", "reverse_accuracy",
    "transfer_success", "transfer_ratio", "agreement", "output_distance", "train_loss",
    "param_change", "kernel_distance_init_final", "kernel_change",
    "kernel_distance_init_analytic", "kernel_distance_final_analytic", "seconds",
)
# What the claim and lazy-training theory predict as the width grows.
EXPECTED_TRENDS = {
    "transfer_success": "increase",
    "transfer_ratio": "increase",
    "output_distance": "decrease",
    "param_change": "decrease",
    "kernel_distance_init_final": "decrease",
    "kernel_distance_final_analytic": "decrease",
}
_DIRECTIONS = ("increase", "decrease")


@dataclasses.dataclass(frozen=True, eq=False)
class TransferResult:
    """What :func:`run` returns.

    Attributes:
      table: one row per (width, seed): ``architecture``, ``depth``, ``width``, ``seed`` and ``METRICS``.
      summary: per width, the mean and standard deviation over seeds of every metric
        (columns ``(metric, "mean" | "sd")``), and the number of seeds.
      trends: ``{metric: trend(...)}`` for every metric in ``EXPECTED_TRENDS``.
      kernel: the kernel predictor's ``clean_accuracy``, ``adversarial_accuracy`` (on its own
        PGD examples), ``time``, ``learning_rate`` and ``lambda_max``.
      x_adv_kernel: ``(n_test, h, w, c)`` the PGD examples against the kernel predictor.
    """

    table: pd.DataFrame
    summary: pd.DataFrame
    trends: dict
    kernel: dict
    x_adv_kernel: np.ndarray


def _seeds(seeds):
    return validate.nonempty_list("seeds", seeds, validate.nonnegative_int)


def _check(x_train, y_train, x_test, y_test, widths, seeds, architecture, depth, steps, lr_scale,
           optimiser, batch_size, loss, eps, step_size, attack_steps, norm, n_eval):
    architectures.check(architecture, depth)
    widths = validate.nonempty_list("widths", widths, validate.positive_int)
    seeds = _seeds(seeds)
    validate.positive_int("steps", steps)
    validate.positive_float("lr_scale", lr_scale)
    validate.one_of("optimiser", optimiser, lazy_training.OPTIMISERS)
    validate.one_of("loss", loss, lazy_training.LOSSES)
    validate.nonnegative_float("eps", eps)
    validate.positive_float("step_size", step_size)
    validate.positive_int("attack_steps", attack_steps)
    validate.one_of("norm", norm, attacks.NORMS)
    x_train, x_test = np.asarray(x_train, np.float32), np.asarray(x_test, np.float32)
    y_train, y_test = np.asarray(y_train, np.float32), np.asarray(y_test, np.float32)
    for name, x, y in (("train", x_train, y_train), ("test", x_test, y_test)):
        if x.ndim < 2 or len(x) == 0:
            raise ValueError(f"x_{name} has shape {x.shape}: expected (n, h, w, c) inputs, n at least 1.")
        labels.check(y, len(x), name=f"y_{name}", per=f"{name} input")
    if x_train.shape[1:] != x_test.shape[1:] or y_train.shape[1:] != y_test.shape[1:]:
        raise ValueError(f"train {x_train.shape}, {y_train.shape} and test {x_test.shape}, {y_test.shape} "
                         "do not agree in input or label shape.")
    lazy_training.check_batching(optimiser, batch_size, len(x_train))
    if not (isinstance(n_eval, int) and not isinstance(n_eval, bool) and 2 <= n_eval <= len(x_train)):
        raise ValueError(f"n_eval = {n_eval!r} is not allowed: expected an integer in "
                         f"[2, n_train = {len(x_train)}].")
    return x_train, y_train, x_test, y_test, widths, seeds


def run(x_train, y_train, x_test, y_test, *, widths, seeds=(0,), architecture: str = "fc",
        depth: int = 1, steps: int = 300, lr_scale: float = 1.0, optimiser: str = "gd",
        batch_size: int | None = None, loss: str = "mse", center: bool = True, eps: float,
        step_size: float, attack_steps: int = 20, norm: str = "linf", n_eval: int = 32,
        kernel_batch_size: int = 128, ntk_batch_size: int = 32, alpha: float = 0.05,
        progress: bool = True) -> TransferResult:
    r"""Transfer of the kernel predictor's adversarial examples to finite networks of growing width.

    .. math::
        t = \eta \cdot \text{steps}, \quad \eta = s / \lambda_{\max}(\Theta(X, X)), \quad
        x^{adv}_\Theta = \text{PGD}(f_t), \quad \text{transfer} = \text{acc}(f^{(w)}_{\theta_T}, x^{adv}_\Theta)

    Args:
      x_train: ``(n_train, h, w, c)`` training inputs.
      y_train: ``(n_train,)`` ±1 labels or ``(n_train, k)`` one-hot targets.
      x_test: ``(n_test, h, w, c)`` test inputs (attacked).
      y_test: labels shaped like ``y_train``.
      widths: non-empty list of widths (each at least 1); span orders of magnitude.
      seeds: non-empty list of initialisation seeds (each at least 0), one network per width and seed.
      architecture: one of ``architectures.ARCHITECTURES``.
      depth: its depth.
      steps: training steps of every network (at least 1).
      lr_scale: :math:`s > 0` (``lazy_training.lazy_learning_rate``); below 2 for stability.
      optimiser: ``"gd"`` or ``"sgd"`` (``lazy_training.train_ntk_parameterised``).
      batch_size: for ``"sgd"``, a divisor of ``n_train``; ``None`` for ``"gd"``.
      loss: the networks' loss, ``"mse"`` or ``"xent"``; the kernel predictor is always the MSE :math:`f_t`.
      center: train centred networks :math:`f(x;\theta) - f(x;\theta_0)` (``lazy_training``).
      eps: attack radius :math:`\epsilon \ge 0` in ``norm``.
      step_size: PGD step (> 0).
      attack_steps: PGD iterations (at least 1), for every attack.
      norm: ``"linf"`` or ``"l2"``.
      n_eval: training inputs on which the kernels are compared for laziness (2 to ``n_train``).
      kernel_batch_size: block size of the analytic Gram matrices (``kernels.gram``, cached).
      ntk_batch_size: rows per block of the empirical NTKs; their Jacobians take
        ``ntk_batch_size × parameters`` floats (lower it for very wide networks).
      alpha: significance level of the trends.
      progress: show a text progress bar over the runs.

    Returns:
      A :class:`TransferResult`.
    """
    x_train, y_train, x_test, y_test, widths, seeds = _check(
        x_train, y_train, x_test, y_test, widths, seeds, architecture, depth, steps, lr_scale,
        optimiser, batch_size, loss, eps, step_size, attack_steps, norm, n_eval)
    validate.float_in_range("alpha", alpha, 0.0, 1.0)
    validate.positive_int("kernel_batch_size", kernel_batch_size)
    validate.positive_int("ntk_batch_size", ntk_batch_size)
    attack = dict(eps=eps, step_size=step_size, steps=attack_steps, norm=norm)

    k_train_train = kernels.gram(x_train, architecture=architecture, depth=depth, batch_size=kernel_batch_size)
    learning_rate = lazy_training.lazy_learning_rate(k_train_train, scale=lr_scale)
    lambda_max = lr_scale / learning_rate
    t = learning_rate * steps
    predict_fn = predictor.fit(kernels.kernel_fn(architecture, depth), x_train, y_train, t=t,
                               k_train_train=k_train_train)
    del k_train_train
    fx_test = np.asarray(predict_fn(x_test))
    x_adv_kernel = attacks.pgd(predict_fn, x_test, y_test, **attack)
    kernel = {
        "clean_accuracy": attacks.accuracy(predict_fn, x_test, y_test),
        "adversarial_accuracy": attacks.accuracy(predict_fn, x_adv_kernel, y_test),
        "time": t, "learning_rate": learning_rate, "lambda_max": lambda_max,
    }
    x_eval = x_train[:n_eval]
    k_eval = kernels.gram(x_eval, architecture=architecture, depth=depth, batch_size=kernel_batch_size)

    rows = []
    runs = [(w, s) for w in widths for s in seeds]
    for width, seed in _progress.bar(runs, desc=f"{architecture} networks", disable=not progress):
        started = time.time()
        net = lazy_training.train_ntk_parameterised(
            architecture, depth, width, x_train, y_train, steps=steps, learning_rate=learning_rate,
            seed=seed, optimiser=optimiser, batch_size=batch_size, loss=loss, center=center, progress=False)
        net_fn = net.logits_fn
        x_adv_net = attacks.pgd(net_fn, x_test, y_test, **attack)
        fx_net = np.asarray(net_fn(x_test))
        clean = attacks.accuracy(net_fn, x_test, y_test)
        transfer = attacks.accuracy(net_fn, x_adv_kernel, y_test)
        whitebox = attacks.accuracy(net_fn, x_adv_net, y_test)
        damage = clean - whitebox
        same = (np.sign(fx_net) == np.sign(fx_test) if fx_test.ndim == 1
                else np.argmax(fx_net, -1) == np.argmax(fx_test, -1))
        row = {
            "architecture": architecture, "depth": depth, "width": width, "seed": seed,
            "clean_accuracy": clean,
            "transfer_accuracy": transfer,
            "whitebox_accuracy": whitebox,
            "reverse_accuracy": attacks.accuracy(predict_fn, x_adv_net, y_test),
            "transfer_success": 1.0 - transfer,
            "transfer_ratio": (clean - transfer) / damage if damage > 0 else float("nan"),
            "agreement": float(np.mean(same)),
            "output_distance": float(np.linalg.norm(fx_net - fx_test) / np.linalg.norm(fx_test)),
            "train_loss": float(net.history["loss"][-1]),
        }
        row.update(lazy_training.laziness(net, x_eval, k_eval, batch_size=ntk_batch_size))
        row["seconds"] = time.time() - started
        rows.append(row)
    table = pd.DataFrame(rows, columns=["architecture", "depth", "width", "seed", *METRICS])
    return TransferResult(table=table, summary=summarize(table),
                          trends=trends(table, alpha=alpha), kernel=kernel,
                          x_adv_kernel=np.asarray(x_adv_kernel))


def summarize(table: pd.DataFrame) -> pd.DataFrame:
    """Mean and standard deviation over seeds of every metric, per width.

    Args:
      table: :attr:`TransferResult.table`.

    Returns:
      DataFrame indexed by ``width``, columns ``(metric, "mean" | "sd")`` for the ``METRICS``
      present, and ``("n_seeds", "")``. The sd is the sample sd (``NaN`` for one seed).
    """
    metrics = [m for m in METRICS if m in table.columns]
    grouped = table.groupby("width")[metrics]
    summary = pd.concat({"mean": grouped.mean(), "sd": grouped.std(ddof=1)}, axis=1)
    summary = summary.swaplevel(axis=1)[[(m, s) for m in metrics for s in ("mean", "sd")]]
    summary[("n_seeds", "")] = table.groupby("width")["seed"].count()
    return summary


def trend(table: pd.DataFrame, column: str, *, expect: str, alpha: float = 0.05) -> dict:
    r"""Spearman's rank correlation :math:`\rho` between width and ``column`` over all runs, and whether it has the expected sign.

    Args:
      table: :attr:`TransferResult.table` (or any table with ``width`` and ``column``).
      column: the metric.
      expect: ``"increase"`` (expects :math:`\rho > 0`) or ``"decrease"`` (:math:`\rho < 0`).
      alpha: significance level in (0, 1).

    Returns:
      ``{"statistic", "rho", "p_value", "n", "expect", "alpha", "holds"}``: ``holds`` is true when
      :math:`\rho` has the expected sign and the two-sided p-value is below ``alpha``; ``rho`` and
      ``p_value`` are ``NaN`` (and ``holds`` false) with fewer than 3 runs, one width or a constant column.
    """
    validate.one_of("expect", expect, _DIRECTIONS)
    validate.float_in_range("alpha", alpha, 0.0, 1.0)
    if column not in table.columns:
        raise ValueError(f"column = {column!r} is not allowed: expected one of {list(table.columns)}.")
    data = table[["width", column]].dropna()
    rho = p_value = float("nan")
    if len(data) >= 3 and data["width"].nunique() > 1 and data[column].nunique() > 1:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = scipy.stats.spearmanr(data["width"], data[column])
        rho, p_value = float(result.statistic), float(result.pvalue)
    sign_ok = rho > 0 if expect == "increase" else rho < 0
    return {"statistic": f"Spearman rho between width and {column}", "rho": rho, "p_value": p_value,
            "n": int(len(data)), "expect": expect, "alpha": float(alpha),
            "holds": bool(sign_ok and p_value < alpha)}


def trends(table: pd.DataFrame, *, alpha: float = 0.05) -> dict:
    """:func:`trend` of every metric in ``EXPECTED_TRENDS`` that ``table`` has, with its expected direction."""
    return {column: trend(table, column, expect=expect, alpha=alpha)
            for column, expect in EXPECTED_TRENDS.items() if column in table.columns}
