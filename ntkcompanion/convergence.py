r"""Width convergence: how far the empirical NTK of a finite network is from the analytic kernel.

In the NTK parameterisation the empirical kernel of a width-:math:`w` network at
initialisation, :math:`\hat\Theta_w(x, x') = \langle \nabla_\theta f(x; \theta_0),
\nabla_\theta f(x'; \theta_0) \rangle`, converges to the deterministic analytic kernel
:math:`\Theta` as :math:`w \to \infty`, with fluctuations of order :math:`w^{-1/2}`
(Jacot et al. 2018; Lee et al. 2019). This module measures the relative distance

.. math::
    d(w) = \frac{\|\hat\Theta_w - \Theta\|_F}{\|\Theta\|_F}

for every architecture, width and initialisation (:func:`width_sweep`), and fits the rate
by ordinary least squares on :math:`\log d = a + b \log w` over every seed and width, with
a Student-t confidence interval on the slope :math:`b` (:func:`log_slopes`); theory
predicts :math:`b = -1/2`. :func:`summary` gives the numbers a section records and cites.

Convergence in training time: :func:`regression_accuracy` gives the test accuracy of the kernel
predictor :math:`f_t` (``predictor.predictions``) at :math:`t = \infty` or along the time grid of
``features.time_grid``, each with its Wilson interval.
"""

import itertools
import math
import numbers

import jax
import numpy as np
import pandas as pd
from scipy import stats

from ntkcompanion import architectures, features, kernels, predictor, progress, validate
from ntkcompanion.evidence import accuracy_interval

__all__ = ["relative_distance", "width_sweep", "log_slopes", "regression_accuracy", "summary"]

COLUMNS = ("architecture", "width", "seed", "relative_error")


def relative_distance(k_empirical, k_analytic) -> float:
    r""":math:`\|\hat K - K\|_F / \|K\|_F` of two ``(n, n)`` Gram matrices (``k_analytic`` the reference)."""
    a, b = np.asarray(k_empirical, np.float64), np.asarray(k_analytic, np.float64)
    if a.shape != b.shape:
        raise ValueError(f"k_empirical has shape {a.shape} and k_analytic {b.shape}: expected the same shape.")
    norm = np.linalg.norm(b)
    if not norm > 0:
        raise ValueError("k_analytic is zero: the relative distance to it is undefined.")
    return float(np.linalg.norm(a - b) / norm)


def width_sweep(x_train, analytic_ntk: dict, *, depth: int, widths, n_seeds: int, n_kernel: int,
                seed: int = 0, batch_size: int = 64) -> pd.DataFrame:
    r"""Relative distance :math:`d(w)` of the empirical NTK to the analytic NTK, per architecture, width and seed.

    The empirical NTK is computed on the first ``n_kernel`` training images and compared with the
    leading ``(n_kernel, n_kernel)`` block of the analytic train Gram matrix, so no analytic kernel
    is computed twice. Initialisation ``s`` of every width draws from ``PRNGKey(seed + s)``.

    Args:
      x_train: ``(n_train, h, w, c)`` training images.
      analytic_ntk: ``{architecture: (n_train, n_train)}`` analytic NTK Gram matrices of ``x_train``
        (e.g. ``kernels.gram(x_train, architecture=a, depth=depth)``), in the order to report them.
      depth: hidden layers (fc, conv) or the Myrtle depth, as in ``architectures.build``.
      widths: finite widths :math:`w` (hidden units or channels).
      n_seeds: initialisations per width.
      n_kernel: images for the empirical NTK (``N_KERNEL``, at most ``n_train``).
      seed: first PRNG seed.
      batch_size: images per block of the empirical NTK (bounds its Jacobians' memory).

    Returns:
      DataFrame with one row per (architecture, width, seed) and columns ``architecture``, ``width``,
      ``seed`` and ``relative_error`` (:math:`d(w)`).
    """
    x_train = np.asarray(x_train, np.float32)
    validate.positive_int("N_KERNEL", n_kernel)
    validate.positive_int("N_SEEDS", n_seeds)
    if n_kernel > len(x_train):
        raise ValueError(f"N_KERNEL = {n_kernel} is not allowed: at most the {len(x_train)} training images.")
    if not analytic_ntk:
        raise ValueError("analytic_ntk is empty: expected {architecture: (n_train, n_train) Gram matrix}.")
    for name, k in analytic_ntk.items():
        if np.shape(k) != (len(x_train),) * 2:
            raise ValueError(f"analytic_ntk[{name!r}] has shape {np.shape(k)}: expected the train Gram "
                             f"matrix, ({len(x_train)}, {len(x_train)}).")
    for w in widths:
        validate.positive_int("WIDTHS", w)
    x = x_train[:n_kernel]
    rows = []
    runs = list(itertools.product(analytic_ntk, widths, range(n_seeds)))
    for name, width, s in progress.bar(runs, desc="empirical NTK"):
        init_fn, apply_fn, _ = architectures.build(name, depth, width=width)
        _, params = init_fn(jax.random.PRNGKey(seed + s), x.shape)
        k_emp = kernels.empirical_ntk(apply_fn, params, x, batch_size=batch_size)
        error = relative_distance(k_emp, np.asarray(analytic_ntk[name])[:n_kernel, :n_kernel])
        rows.append(dict(architecture=name, width=int(width), seed=s, relative_error=error))
    return pd.DataFrame(rows, columns=list(COLUMNS))


def log_slopes(table: pd.DataFrame, *, level: float = 0.95) -> pd.DataFrame:
    r"""Fitted rate :math:`b` of :math:`\log d = a + b \log w`, per architecture, with its confidence interval.

    Every (width, seed) row is one point of an ordinary least-squares fit
    (``scipy.stats.linregress``); the interval is :math:`b \pm t_{(1+\text{level})/2,\,m-2}\,
    \mathrm{se}(b)` over :math:`m` points. With one width there is no slope (NaN); with two points
    the slope has no interval (NaN bounds).

    Args:
      table: the DataFrame of :func:`width_sweep` (columns ``architecture``, ``width``, ``relative_error``).
      level: confidence level of the interval.

    Returns:
      DataFrame indexed by ``architecture`` (order of first appearance) with columns ``slope``,
      ``low``, ``high`` and ``n`` (points fitted).
    """
    if not 0 < level < 1:
        raise ValueError(f"level = {level!r} is not allowed: expected a number in (0, 1).")
    missing = {"architecture", "width", "relative_error"} - set(table.columns)
    if missing:
        raise ValueError(f"table lacks the columns {sorted(missing)}: expected the output of width_sweep.")
    out = {}
    for name, group in table.groupby("architecture", sort=False):
        n = len(group)
        slope = low = high = np.nan
        if group.width.nunique() >= 2:  # one width: no slope to fit
            fit = stats.linregress(np.log(group.width.astype(float)), np.log(group.relative_error))
            slope = fit.slope
            if n > 2:
                half = stats.t.ppf((1 + level) / 2, n - 2) * fit.stderr
                low, high = slope - half, slope + half
        out[name] = dict(slope=float(slope), low=float(low), high=float(high), n=n)
    return pd.DataFrame.from_dict(out, orient="index").rename_axis("architecture")


def regression_accuracy(task, k_train_train, k_test_train, times=None, *, level: float = 0.95,
                        relative_ridge: float = 1e-6):
    r"""Test accuracy of the kernel predictor :math:`f_t` of a task at each time, with its Wilson interval.

    The predictions are ``predictor.predictions`` with the ridge
    :math:`\rho = \text{relative\_ridge} \cdot \operatorname{tr}\Theta(X, X) / n`: a jitter that keeps
    the solve at :math:`t = \infty` stable on a nearly singular Gram matrix and moves a finite-:math:`t`
    prediction by a relative :math:`O(\rho / \lambda)` only. Each accuracy comes with its ``level``
    Wilson interval over the ``n_test`` test images (``evidence.accuracy_interval``).

    Args:
      task: a ``data.Task`` (its ``y_train`` targets and test labels).
      k_train_train: ``(n_train, n_train)`` Gram matrix of ``task.x_train``.
      k_test_train: ``(n_test, n_train)`` kernel rows of ``task.x_test`` against ``task.x_train``.
      times: ``None`` for :math:`t = \infty` only; an int ``m`` for ``m`` times of ``features.time_grid``
        (log-spaced from :math:`0.1/\lambda_1` to :math:`10/\lambda_{min}`, :math:`\lambda_{min}` the
        smallest resolved eigenvalue of ``k_train_train``); or a sequence of times (``None`` or ``inf``
        meaning :math:`t = \infty`).
      level: confidence level of the intervals.
      relative_ridge: :math:`\rho` relative to the mean diagonal of the Gram matrix (``0``: none).

    Returns:
      pandas DataFrame, one row per time, columns ``t`` (``inf`` for :math:`t = \infty`),
      ``accuracy``, ``low``, ``high``.
    """
    if not relative_ridge >= 0:
        raise ValueError(f"relative_ridge = {relative_ridge!r} is not allowed: expected a number >= 0.")
    if times is None:
        times = [None]
    k = np.asarray(k_train_train, np.float64)
    if isinstance(times, numbers.Integral):
        lam = np.linalg.eigvalsh(k)[::-1]  # largest first
        if not lam[0] > 0:
            raise ValueError("k_train_train has no positive eigenvalue: expected a Gram matrix of a kernel.")
        times = features.time_grid(lam, int(times))
    ridge = relative_ridge * float(np.trace(k)) / max(len(k), 1)
    scores = predictor.predictions(k, k_test_train, task.y_train, times, ridge=ridge)
    rows = []
    for t, f_t in zip(times, scores):
        acc = task.accuracy(f_t)
        low, high = accuracy_interval(round(acc * task.n_test), task.n_test, level=level)
        rows.append(dict(t=math.inf if t is None else float(t), accuracy=acc, low=low, high=high))
    return pd.DataFrame(rows)


def summary(table: pd.DataFrame, slopes: pd.DataFrame) -> tuple[dict, dict]:
    """What a section records about the sweep, and what its prose cites (about the first architecture).

    Args:
      table: the DataFrame of :func:`width_sweep`.
      slopes: the DataFrame of :func:`log_slopes` for ``table``.

    Returns:
      ``(metrics, glue)``. ``metrics``: ``kernel_relative_error`` ``{architecture: {width: mean over
      seeds}}`` and ``kernel_error_slope`` ``{architecture: {slope, low, high, n}}``. ``glue``:
      ``first_arch``, ``widest``, ``first_error_widest`` (mean distance at the widest width),
      ``first_slope`` and ``first_slope_ci`` (text ``"[low, high]"``).
    """
    if table.empty:
        raise ValueError("table is empty: expected the output of width_sweep.")
    means = table.groupby(["architecture", "width"], sort=False).relative_error.mean()
    names = list(dict.fromkeys(table.architecture))
    first, widest = names[0], int(table.width.max())
    metrics = {"kernel_relative_error": {a: {int(w): float(e) for w, e in means[a].items()} for a in names},
               "kernel_error_slope": slopes.to_dict("index")}
    fit = slopes.loc[first]
    glue = {"first_arch": first, "widest": widest, "first_error_widest": float(means[first][widest]),
            "first_slope": float(fit.slope), "first_slope_ci": f"[{fit.low:.2f}, {fit.high:.2f}]"}
    return metrics, glue
