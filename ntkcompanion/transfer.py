r"""Do the kernel's adversarial examples fool finite networks with that kernel, the closer the wider they are?

Paper claim 2 (Tsilivis & Kempe 2022, §3): adversarial examples computed *training-free* on the
NTK predictor transfer to finite-width networks whose NTK it is, in the lazy regime. The authors
released no code for it; :func:`run` is the experiment:

1. The kernel predictor :math:`f_t(x) = \Theta(x, X)\Theta(X,X)^{-1}(I - e^{-\Theta(X,X) t})Y` at the
   time :math:`t = \eta \cdot \text{steps}` the networks train for (``lazy_training``'s time
   convention), and the fully trained :math:`f_\infty`; PGD against each, once:
   :math:`x^{adv}_\Theta` (from :math:`f_t`) and :math:`x^{adv}_{\Theta,\infty}`, shared by every network.
2. Two controls of the same budget, also shared: random sign noise (``attacks.random_sign``) and
   PGD examples made on an *unrelated* model, the RBF kernel regressor at the median-heuristic
   bandwidth (:func:`rbf_kernel_fn`): it fits the same data, but its kernel is not the
   networks' tangent kernel at any width.
3. For every width × seed: a registry network (``lazy_training.train_ntk_parameterised``,
   centred by default) evaluated point by point on the clean images, on both kernels'
   examples and on both controls; the distance of its outputs to :math:`f_t`; its laziness
   (``lazy_training.laziness``: relative parameter and kernel change).

The per-point 0/1 correctness arrays (:attr:`TransferResult.correct`) are what
``evidence.claims.claim2`` decides on: per width and seed, the transfer margin
:math:`\min(\mathrm{acc}_{net}(x_{noise}), \mathrm{acc}_{net}(x^{adv}_{unrel})) - \mathrm{acc}_{net}(x^{adv}_\Theta)`
(the stronger control minus the kernel's examples), at the widest width and its change with width,
with intervals over seeds.

Example:
    >>> result = run(task.x_train, task.y_train, task.x_test, task.y_test, widths=[16, 256, 2048],
    ...              seeds=[0, 1], train_steps=300, eps=0.1, attack_step_size=0.025, attack_steps=20)
    >>> result.summary["transfer_accuracy"]            # mean and sd over seeds, per width
    >>> result.verdicts()                              # [claim2_transfer, claim2_trend]
"""

import dataclasses
import functools
import time

import jax.numpy as jnp
import numpy as np
import pandas as pd

from ntkcompanion import architectures, attacks, kernels, labels, lazy_training, predictor, validate
from ntkcompanion import progress as _progress
from ntkcompanion.evidence import claims

__all__ = ["METRICS", "LAZINESS", "EVALUATIONS", "TransferResult", "run", "summarize", "rbf_kernel_fn"]

# The inputs every network is evaluated on, point by point: name → what it is.
EVALUATIONS = {
    "clean": "clean test images",
    "adv": "PGD examples of the NTK predictor f_t (the networks' training time)",
    "adv_infinite": "PGD examples of the fully trained NTK predictor f_inf",
    "noise": "random sign noise of the same budget",
    "unrelated": "PGD examples of the RBF kernel regressor (an unrelated model)",
}
# Laziness measures per network (``lazy_training.laziness``).
LAZINESS = ("param_change", "kernel_change", "kernel_distance_init_final",
            "kernel_distance_init_analytic", "kernel_distance_final_analytic")
# Per-run columns of the table, besides architecture, depth, width and seed.
METRICS = ("clean_accuracy", "transfer_accuracy", "transfer_accuracy_infinite", "noise_accuracy",
           "unrelated_accuracy", "share_fooled", "agreement", "output_distance", "train_loss",
           *LAZINESS, "seconds")
_ACCURACY_COLUMNS = {"clean": "clean_accuracy", "adv": "transfer_accuracy",
                     "adv_infinite": "transfer_accuracy_infinite", "noise": "noise_accuracy",
                     "unrelated": "unrelated_accuracy"}


@dataclasses.dataclass(frozen=True, eq=False)
class TransferResult:
    r"""What :func:`run` returns.

    Attributes:
      widths: ``(n_w,)`` the widths, in the order run; seeds: ``(n_seeds,)``.
      table: one row per (width, seed): ``architecture``, ``depth``, ``width``, ``seed`` and ``METRICS``.
      summary: per width, mean and sd over seeds of every metric (:func:`summarize`).
      correct: per-point 0/1 correctness, ``(n_w, n_seeds, n_test)`` for every key of ``EVALUATIONS``
        (the networks), and ``kernel_clean``, ``kernel_adv``, ``kernel_infinite_clean``,
        ``kernel_infinite_adv``, ``unrelated_clean``, ``unrelated_adv`` ``(n_test,)`` (each
        model on its own examples).
      laziness: ``{name: (n_w, n_seeds)}`` for every name in ``LAZINESS``.
      kernel: scalars: the predictors' accuracies, ``time``, ``learning_rate``, ``lambda_max``,
        ``rbf_sigma2`` (the RBF control's :math:`\sigma^2`), ``eps``.
      x_adv_kernel: ``(n_test, h, w, c)`` the PGD examples against :math:`f_t`.
    """

    widths: tuple
    seeds: tuple
    table: pd.DataFrame
    summary: pd.DataFrame
    correct: dict
    laziness: dict
    kernel: dict
    x_adv_kernel: np.ndarray

    def verdicts(self, **kwargs) -> list:
        """``evidence.claims.claim2`` on this run: ``[claim2_transfer, claim2_trend]`` (kwargs passed on)."""
        c = self.correct
        return claims.claim2(list(self.widths), c["adv"], c["kernel_adv"], c["noise"], c["unrelated"],
                             laziness=self.laziness, **kwargs)


def _rbf(x1, x2=None, get="ntk", *, sigma2):
    x2 = x1 if x2 is None else x2
    a, b = x1.reshape(x1.shape[0], -1), x2.reshape(x2.shape[0], -1)
    d2 = jnp.sum(a ** 2, 1)[:, None] + jnp.sum(b ** 2, 1)[None, :] - 2 * a @ b.T
    return jnp.exp(-jnp.maximum(d2, 0.0) / (2 * sigma2))


@functools.lru_cache(maxsize=None)
def rbf_kernel_fn(sigma2: float):
    r"""The RBF kernel :math:`k(x, x') = \exp(-\|x - x'\|^2 / 2\sigma^2)` as a differentiable ``kernel_fn(x1, x2=None, get=...)``.

    The JAX form of ``kernels.baseline_gram("rbf", ...)`` (numpy), with the same :math:`\sigma^2`
    convention (``kernels.median_bandwidth``), so that PGD can differentiate it. Same call
    signature as ``kernels.kernel_fn`` (``get`` is ignored), so ``predictor.fit`` and the attacks
    take it; one function object per :math:`\sigma^2` (compiled attacks are reused).
    """
    validate.positive_float("sigma2", sigma2)
    return functools.partial(_rbf, sigma2=float(sigma2))


def _check(x_train, y_train, x_test, y_test, widths, seeds, n_eval, optimiser, batch_size):
    widths = validate.nonempty_list("widths", widths, validate.positive_int)
    seeds = validate.nonempty_list("seeds", seeds, validate.nonnegative_int)
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


def _correct(fn, x, y, batch_size=1000) -> np.ndarray:
    """``(n,)`` 0/1 int8 correctness of ``fn`` on ``x`` (``attacks.correct``, in blocks of ``batch_size`` inputs)."""
    return attacks.correct(fn, x, y, batch_size=batch_size).astype(np.int8)


def _outputs(fn, x, batch_size=1000) -> np.ndarray:
    return np.concatenate([np.asarray(fn(x[i:i + batch_size])) for i in range(0, len(x), batch_size)])


def run(x_train, y_train, x_test, y_test, *, widths, seeds=(0,), architecture: str = "fc",
        depth: int = 1, train_steps: int = 300, lr_scale: float = 1.0, optimiser: str = "gd",
        batch_size: int | None = None, loss: str = "mse", center: bool = True, eps: float,
        attack_step_size: float, attack_steps: int = 20, norm: str = "linf", n_eval: int = 32,
        kernel_batch_size: int = 128, ntk_batch_size: int = 32, noise_seed: int = 0,
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
      widths: non-empty list of widths (each at least 1); span orders of magnitude. Any order: the
        verdicts take the widths by value.
      seeds: non-empty list of initialisation seeds (each at least 0), one network per width and seed.
      architecture, depth: a registry architecture (``architectures.build``).
      train_steps: gradient steps of every network (at least 1); :math:`t = \eta \cdot` steps.
      lr_scale: :math:`s > 0` (``lazy_training.lazy_learning_rate``); below 2 for stability.
      optimiser: ``"gd"`` or ``"sgd"``; batch_size: for ``"sgd"``, a divisor of ``n_train``.
      loss: the networks' loss, ``"mse"`` or ``"xent"``; the kernel predictor is always the MSE :math:`f_t`.
      center: train centred networks :math:`f(x;\theta) - f(x;\theta_0)` (``lazy_training``).
      eps: attack radius :math:`\epsilon \ge 0` in ``norm``, of every attack and of the noise.
      attack_step_size: PGD step (> 0); attack_steps: PGD iterations (at least 1).
      norm: ``"linf"`` or ``"l2"``.
      n_eval: training inputs on which the kernels are compared for laziness (2 to ``n_train``).
      kernel_batch_size: block size of the analytic Gram matrices (``kernels.gram``, cached).
      ntk_batch_size: rows per block of the empirical NTKs (``ntk_batch_size × parameters`` floats).
      noise_seed: seed of the sign-noise control.
      progress: show a text progress bar over the networks.

    Returns:
      A :class:`TransferResult`.
    """
    architectures.check(architecture, depth)
    x_train, y_train, x_test, y_test, widths, seeds = _check(
        x_train, y_train, x_test, y_test, widths, seeds, n_eval, optimiser, batch_size)
    validate.positive_int("train_steps", train_steps)
    validate.positive_float("lr_scale", lr_scale)
    validate.one_of("loss", loss, lazy_training.LOSSES)
    validate.positive_int("kernel_batch_size", kernel_batch_size)
    validate.positive_int("ntk_batch_size", ntk_batch_size)
    attack = dict(eps=eps, step_size=attack_step_size, steps=attack_steps, norm=norm)
    # eps, attack_step_size, attack_steps and norm are checked by the first attack, before any net trains.

    k_train = kernels.gram(x_train, architecture=architecture, depth=depth, batch_size=kernel_batch_size)
    learning_rate = lazy_training.lazy_learning_rate(k_train, scale=lr_scale)
    t = learning_rate * train_steps
    kernel_fn = kernels.kernel_fn(architecture, depth)
    f_t = predictor.fit(kernel_fn, x_train, y_train, t=t, k_train_train=k_train)
    # f_inf interpolates; a ridge of 1e-6 of the mean eigenvalue only guards the Cholesky solve.
    f_inf = predictor.fit(kernel_fn, x_train, y_train, k_train_train=k_train,
                          ridge=1e-6 * float(np.trace(k_train)) / len(k_train))
    sigma2 = kernels.median_bandwidth(x_train)
    # Kernel ridge regression with a small ridge: the RBF Gram matrix is full rank but can be ill-conditioned.
    f_rbf = predictor.fit(rbf_kernel_fn(sigma2), x_train, y_train, ridge=1e-3)
    inputs = {"clean": x_test, "noise": attacks.random_sign(x_test, eps=eps, norm=norm, seed=noise_seed)}
    correct = {}
    for name, evaluation, model in (("kernel", "adv", f_t), ("kernel_infinite", "adv_infinite", f_inf),
                                    ("unrelated", "unrelated", f_rbf)):
        inputs[evaluation] = x_adv = np.asarray(attacks.pgd(model, x_test, y_test, **attack))
        correct[f"{name}_clean"] = _correct(model, x_test, y_test)
        correct[f"{name}_adv"] = _correct(model, x_adv, y_test)
    fx_test = _outputs(f_t, x_test)
    kernel = {"clean_accuracy": float(correct["kernel_clean"].mean()),
              "adversarial_accuracy": float(correct["kernel_adv"].mean()),
              "infinite_clean_accuracy": float(correct["kernel_infinite_clean"].mean()),
              "infinite_adversarial_accuracy": float(correct["kernel_infinite_adv"].mean()),
              "unrelated_clean_accuracy": float(correct["unrelated_clean"].mean()),
              "unrelated_adversarial_accuracy": float(correct["unrelated_adv"].mean()),
              "time": t, "learning_rate": learning_rate, "lambda_max": lr_scale / learning_rate,
              "rbf_sigma2": sigma2, "eps": float(eps)}
    del k_train
    x_eval = x_train[:n_eval]
    k_eval = kernels.gram(x_eval, architecture=architecture, depth=depth, batch_size=kernel_batch_size)

    net_correct = {name: np.zeros((len(widths), len(seeds), len(x_test)), np.int8) for name in EVALUATIONS}
    lazy = {name: np.full((len(widths), len(seeds)), np.nan) for name in LAZINESS}
    rows = []
    runs = [(i, j) for i in range(len(widths)) for j in range(len(seeds))]
    fooled = correct["kernel_adv"] == 0
    for i, j in _progress.bar(runs, desc=f"{architecture} networks", disable=not progress):
        started = time.time()
        net = lazy_training.train_ntk_parameterised(
            architecture, depth, widths[i], x_train, y_train, steps=train_steps, learning_rate=learning_rate,
            seed=seeds[j], optimiser=optimiser, batch_size=batch_size, loss=loss, center=center,
            progress=False)
        for name, x in inputs.items():
            net_correct[name][i, j] = _correct(net.logits_fn, x, y_test)
        fx_net = _outputs(net.logits_fn, x_test)
        same = (np.sign(fx_net) == np.sign(fx_test) if fx_test.ndim == 1
                else np.argmax(fx_net, -1) == np.argmax(fx_test, -1))
        row = {"architecture": architecture, "depth": depth, "width": widths[i], "seed": seeds[j]}
        row |= {column: float(net_correct[name][i, j].mean()) for name, column in _ACCURACY_COLUMNS.items()}
        row |= {"share_fooled": float(1 - net_correct["adv"][i, j][fooled].mean()) if fooled.any() else np.nan,
                "agreement": float(np.mean(same)),
                "output_distance": float(np.linalg.norm(fx_net - fx_test) / np.linalg.norm(fx_test)),
                "train_loss": float(net.history["loss"][-1])}
        measured = lazy_training.laziness(net, x_eval, k_eval, batch_size=ntk_batch_size)
        for name in LAZINESS:
            lazy[name][i, j] = row[name] = measured[name]
        row["seconds"] = time.time() - started
        rows.append(row)
    table = pd.DataFrame(rows, columns=["architecture", "depth", "width", "seed", *METRICS])
    return TransferResult(widths=tuple(widths), seeds=tuple(seeds), table=table, summary=summarize(table),
                          correct=net_correct | correct, laziness=lazy, kernel=kernel,
                          x_adv_kernel=inputs["adv"])


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
