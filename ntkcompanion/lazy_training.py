r"""Lazy training: NTK-parameterised networks trained by gradient descent as NTK theory describes, and how lazy they stay.

The networks are ``architectures.build(name, depth, width=...)``: the same stax definition
whose ``kernel_fn`` gives the analytic NTK, in the NTK parameterisation. They are trained
with ``optax.sgd`` (no momentum) on the *summed* loss over the training set, the loss of
NTK theory and of ``predictor.fit``:

.. math::
    L(\theta) = \tfrac12 \|f(X; \theta) - Y\|^2 \quad (\texttt{"mse"}), \qquad
    L(\theta) = \textstyle\sum_i \ell(f(x_i; \theta), y_i) \quad (\texttt{"xent"}: \ell = \text{bce or ce}).

**Time.** In the linearised (lazy) regime gradient descent with learning rate :math:`\eta` on
the MSE moves the outputs by :math:`f \leftarrow f - \eta\, \hat\Theta(X, X)(f - Y)`, so ``steps``
steps are the gradient-flow time :math:`t = \eta \cdot \text{steps}` of ``predictor.fit``
(``learning_rate=1``). The trained network is therefore compared with the kernel predictor
:math:`f_t` at that :math:`t`.

**Learning rate.** Gradient descent on the summed MSE of the linearised network is stable
for :math:`\eta < 2/\lambda_{\max}(\Theta(X, X))`. In the NTK parameterisation the analytic
:math:`\Theta` does not depend on the width, so :func:`lazy_learning_rate` (default
:math:`\eta = 1/\lambda_{\max}`, half the limit, which leaves room for a finite net's empirical
kernel to exceed the analytic one) is one learning rate for every width: a wide net then
moves each weight by :math:`O(1/\sqrt{w})` and stays lazy (Jacot et al. 2018; Lee et al. 2019).
For cross-entropy the Hessian in :math:`f` is at most 1/4 (bce) or 1/2 (ce), so the same
:math:`\eta` is stable; there is no closed-form :math:`f_t` to compare with.

**Mini-batch SGD** (``optimiser="sgd"``) uses the unbiased estimate
:math:`\tfrac{n}{b} \sum_{i \in B} \ell_i` of the summed loss, so the learning rate and the time
:math:`t = \eta \cdot \text{steps}` keep their meaning; each epoch visits every training
point once in a random order (``n_train`` must be a multiple of ``batch_size``).

**Centring.** A network at initialisation outputs a random function :math:`f_0` (an NNGP
sample, of order 1 at every width), which the kernel predictor (:math:`f_0 = 0`) does not
have. With ``center=True`` (default) the trained model is
:math:`f(x; \theta) - f(x; \theta_0)`: the same tangent kernel, the same gradient steps,
and exactly :math:`f_0 = 0` (Chizat et al. 2019; Hu et al. 2020). Its outputs converge to
those of :math:`f_t` as the width grows.

**Laziness** (:func:`laziness`): how far training moved the net, measured as the evidence
vocabulary defines *lazy* (``evidence.is_lazy``: a relative change below ``LAZY_THRESHOLD``):
the relative parameter change :math:`\|\theta_T - \theta_0\| / \|\theta_0\|`, the relative kernel
change :math:`\|\hat\Theta_T - \hat\Theta_0\|_F / \|\hat\Theta_0\|_F`, and the kernel distance
:math:`d(K_1, K_2) = 1 - \operatorname{Tr}(K_1K_2^\top)/\sqrt{\operatorname{Tr}(K_1K_1^\top)\operatorname{Tr}(K_2K_2^\top)}`
(Fort et al. 2020; ``dynamics.distance``) between the empirical NTK at initialisation, after
training, and the analytic NTK, on a fixed evaluation subset. Both fall with width.

Example:
    >>> lr = lazy_learning_rate(kernels.gram(x_train, architecture="fc", depth=1))
    >>> net = train_ntk_parameterised("fc", 1, 1024, x_train, y_train, steps=300, learning_rate=lr)
    >>> net.logits_fn(x_test).shape, net.time           # (n_test,), lr * 300
    >>> laziness(net, x_train[:32], kernels.gram(x_train[:32], architecture="fc", depth=1))
"""

import dataclasses
import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ntkcompanion import architectures, dynamics, kernels, labels, losses, training_steps, validate
from ntkcompanion import progress as _progress
from ntkcompanion.evidence import is_lazy

__all__ = ["OPTIMISERS", "LOSSES", "TrainedNet", "check_batching", "lazy_learning_rate", "network_fn",
           "train_ntk_parameterised", "laziness", "parameter_change"]

OPTIMISERS = ("gd", "sgd")
LOSSES = ("mse", "xent")
_PROGRESS_UPDATES = 20  # jitted calls per run: one progress-bar (and loss-history) update each


@dataclasses.dataclass(frozen=True, eq=False)
class TrainedNet:
    r"""A trained finite network with its initialisation and training record.

    Attributes:
      architecture, depth, width: the registry network.
      apply_fn: ``apply_fn(params, x)``: ``(n, h, w, c)`` → ``(n, out_dim)``.
      params, params_0: parameters after training and at initialisation.
      center: whether the model is :math:`f(x;\theta) - f(x;\theta_0)` (module docstring).
      learning_rate, steps: of the run; ``time`` = their product.
      history: ``{"step": (m,), "loss": (m,)}`` the summed training loss at ``m`` points (step 0 first).
      logits_fn: the model as a function ``x (n, h, w, c)`` → ``(n,)`` for ±1 labels or ``(n, k)``;
        a ``jax.tree_util.Partial`` (see :func:`network_fn`), ready for ``attacks.pgd``.
    """

    architecture: str
    depth: int
    width: int
    apply_fn: object
    params: object
    params_0: object
    center: bool
    learning_rate: float
    steps: int
    history: dict
    logits_fn: object

    @property
    def time(self) -> float:
        """Gradient-flow time :math:`t = \\eta \\cdot \\text{steps}` (``predictor.fit``'s convention)."""
        return self.learning_rate * self.steps


def lazy_learning_rate(k_train_train, *, scale: float = 1.0) -> float:
    r"""Learning rate :math:`\eta = s / \lambda_{\max}(\Theta(X, X))` for gradient descent on the summed MSE.

    Stable (for the linearised network) for :math:`s < 2`, at every width in the NTK
    parameterisation (module docstring).

    Args:
      k_train_train: ``(n_train, n_train)`` analytic NTK Gram matrix of the training inputs.
      scale: :math:`s > 0`.

    Returns:
      :math:`\eta`, a Python float.
    """
    validate.positive_float("scale", scale)
    k = np.asarray(k_train_train, np.float64)
    if k.ndim != 2 or k.shape[0] != k.shape[1]:
        raise ValueError(f"k_train_train has shape {k.shape}: expected a square (n_train, n_train) matrix.")
    lam_max = float(np.linalg.eigvalsh((k + k.T) / 2)[-1])
    if not lam_max > 0:
        raise ValueError(f"k_train_train has largest eigenvalue {lam_max!r}: expected a positive "
                         "semi-definite, non-zero NTK Gram matrix.")
    return scale / lam_max


def _squeeze(out, scalar):
    return out[:, 0] if scalar else out


def _centred(apply_fn, params, params_0, x, *, scalar):
    return _squeeze(apply_fn(params, x) - apply_fn(params_0, x), scalar)


def _plain(apply_fn, params, x, *, scalar):
    return _squeeze(apply_fn(params, x), scalar)


@functools.lru_cache(maxsize=None)
def _model(apply_fn, center: bool, scalar: bool):
    """One function object per network, so that attacks compile once per network, not per seed."""
    if center:
        return functools.partial(_centred, apply_fn, scalar=scalar)
    return functools.partial(_plain, apply_fn, scalar=scalar)


def network_fn(apply_fn, params, params_0=None, *, scalar: bool = True):
    r"""The model :math:`x \mapsto f(x;\theta)`, or :math:`f(x;\theta) - f(x;\theta_0)` when ``params_0`` is given.

    Args:
      apply_fn: ``apply_fn(params, x)`` of a stax network with outputs ``(n, out_dim)``.
      params: :math:`\theta`.
      params_0: :math:`\theta_0` for the centred model, or ``None``.
      scalar: read ``(n, 1)`` outputs as ``(n,)`` (binary ±1 labels).

    Returns:
      ``logits_fn(x)``: ``(n, h, w, c)`` → ``(n,)`` or ``(n, out_dim)``; a ``jax.tree_util.Partial``
      whose leaves are the parameters, so ``attacks.pgd`` traces them and compiles once for every
      network built by the same ``apply_fn``.
    """
    if params_0 is None:
        return jax.tree_util.Partial(_model(apply_fn, False, scalar), params)
    return jax.tree_util.Partial(_model(apply_fn, True, scalar), params, params_0)


def _summed_loss(loss, out, y):
    if loss == "mse":
        return 0.5 * jnp.sum((out - y) ** 2)
    return jnp.sum(losses.per_example(losses.default_loss(y), out, y))


@functools.lru_cache(maxsize=None)
def _runner(apply_fn, loss: str, optimiser: str, batch_size, center: bool, scalar: bool):
    """Jitted ``run(params, params_0, opt_state, x, y, lr, key, start, count)``: ``count`` steps from ``start``."""
    model = _model(apply_fn, center, scalar)

    def forward(params, params_0, x):
        return model(params, params_0, x) if center else model(params, x)

    def objective(params, params_0, x, y, scale):
        return scale * _summed_loss(loss, forward(params, params_0, x), y)

    @jax.jit
    def run(params, params_0, opt_state, x, y, lr, key, start, count):
        optimizer = optax.sgd(lr)
        n = x.shape[0]

        def step(i, carry):
            params, opt_state = carry
            if optimiser == "gd":
                xb, yb, scale = x, y, 1.0
            else:
                per_epoch = n // batch_size
                order = jax.random.permutation(jax.random.fold_in(key, i // per_epoch), n)
                idx = jax.lax.dynamic_slice_in_dim(order, (i % per_epoch) * batch_size, batch_size)
                xb, yb, scale = x[idx], y[idx], n / batch_size
            grads = jax.grad(objective)(params, params_0, xb, yb, scale)
            updates, opt_state = optimizer.update(grads, opt_state, params)
            return optax.apply_updates(params, updates), opt_state

        params, opt_state = jax.lax.fori_loop(start, start + count, step, (params, opt_state))
        return params, opt_state, objective(params, params_0, x, y, 1.0)

    return run


def _check_train(architecture, depth, width, x_train, y_train, steps, learning_rate, seed,
                 optimiser, batch_size, loss):
    architectures.check(architecture, depth)
    validate.positive_int("width", width)
    validate.positive_int("steps", steps)
    validate.positive_float("learning_rate", learning_rate)
    validate.nonnegative_int("seed", seed)
    validate.one_of("optimiser", optimiser, OPTIMISERS)
    validate.one_of("loss", loss, LOSSES)
    x = np.asarray(x_train, np.float32)
    y = np.asarray(y_train, np.float32)
    if x.ndim < 2 or len(x) == 0:
        raise ValueError(f"x_train has shape {x.shape}: expected (n_train, h, w, c) with n_train at least 1.")
    labels.check(y, len(x), name="y_train", per="training input")
    check_batching(optimiser, batch_size, len(x))
    return x, y


def check_batching(optimiser: str, batch_size, n_train: int):
    """Checks that ``batch_size`` suits ``optimiser``: a divisor of ``n_train`` for "sgd", None for "gd"."""
    if optimiser == "sgd":
        validate.positive_int("batch_size", batch_size)
        if n_train % batch_size:
            raise ValueError(f"batch_size = {batch_size!r} is not allowed with optimiser = 'sgd' and "
                             f"{n_train} training points: expected a divisor of n_train = {n_train}.")
    elif batch_size is not None:
        raise ValueError(f"batch_size = {batch_size!r} is not allowed with optimiser = 'gd' (full batch): "
                         "expected None, or optimiser = 'sgd'.")


def train_ntk_parameterised(architecture: str, depth: int, width: int, x_train, y_train, *, steps: int,
                            learning_rate: float, seed: int = 0, optimiser: str = "gd",
                            batch_size: int | None = None, loss: str = "mse", center: bool = True,
                            progress: bool = True) -> TrainedNet:
    r"""Trains a registry network of one width with ``optax.sgd`` on the summed loss.

    .. math::
        \theta_{s+1} = \theta_s - \eta\, \nabla_\theta L(\theta_s), \qquad
        L = \tfrac12 \|f(X;\theta) - Y\|^2 \ \text{(mse)}

    Args:
      architecture: one of ``architectures.ARCHITECTURES``.
      depth: its depth (``architectures.build``).
      width: hidden width (channels for conv nets), at least 1.
      x_train: ``(n_train, h, w, c)`` inputs.
      y_train: ``(n_train,)`` ±1 labels (one output) or ``(n_train, k)`` one-hot targets (``k`` outputs).
      steps: optimiser steps (at least 1); the time is ``learning_rate * steps``.
      learning_rate: :math:`\eta > 0`, e.g. :func:`lazy_learning_rate`.
      seed: seed of the initialisation (and of the batch order for ``"sgd"``).
      optimiser: ``"gd"`` (full batch) or ``"sgd"`` (mini-batches of ``batch_size``, module docstring).
      batch_size: for ``"sgd"`` only, a divisor of ``n_train``.
      loss: ``"mse"`` or ``"xent"`` (bce for ±1 labels, ce for one-hot).
      center: train :math:`f(x;\theta) - f(x;\theta_0)` (module docstring).
      progress: show a text progress bar.

    Returns:
      A :class:`TrainedNet`.
    """
    x, y = _check_train(architecture, depth, width, x_train, y_train, steps, learning_rate, seed,
                        optimiser, batch_size, loss)
    scalar = y.ndim == 1
    init_fn, apply_fn = training_steps.network(architecture, depth, width, 1 if scalar else y.shape[1])
    init_key, batch_key = jax.random.split(jax.random.PRNGKey(seed))
    _, params_0 = init_fn(init_key, x.shape)
    run = _runner(apply_fn, loss, optimiser, batch_size if optimiser == "sgd" else None,
                  bool(center), scalar)
    x, y = jnp.asarray(x), jnp.asarray(y)
    lr = jnp.asarray(learning_rate, x.dtype)
    params, opt_state = params_0, optax.sgd(learning_rate).init(params_0)
    _, _, loss_0 = run(params, params_0, opt_state, x, y, lr, batch_key, 0, 0)
    history = {"step": [0], "loss": [float(loss_0)]}
    chunk = max(1, math.ceil(steps / _PROGRESS_UPDATES))
    with _progress.bar(total=steps, desc=f"{architecture} width {width} seed {seed}", disable=not progress,
              leave=False) as bar:
        for start in range(0, steps, chunk):
            count = min(chunk, steps - start)
            params, opt_state, loss_s = run(params, params_0, opt_state, x, y, lr, batch_key, start, count)
            loss_s = float(loss_s)
            if not math.isfinite(loss_s):
                raise FloatingPointError(
                    f"training diverged (loss {loss_s}) at step {start + count} with learning_rate = "
                    f"{learning_rate!r}: lower it below 2 / λ_max of the NTK Gram matrix (lazy_learning_rate).")
            history["step"].append(start + count)
            history["loss"].append(loss_s)
            bar.update(count)
    logits_fn = network_fn(apply_fn, params, params_0 if center else None, scalar=scalar)
    return TrainedNet(architecture=architecture, depth=depth, width=width, apply_fn=apply_fn,
                      params=params, params_0=params_0, center=bool(center),
                      learning_rate=float(learning_rate), steps=steps,
                      history={k: np.asarray(v) for k, v in history.items()}, logits_fn=logits_fn)


def parameter_change(params, params_0) -> float:
    r"""Relative parameter change :math:`\|\theta - \theta_0\|_2 / \|\theta_0\|_2` over all leaves.

    Args:
      params: a parameter pytree :math:`\theta`.
      params_0: a pytree of the same structure and shapes, :math:`\theta_0`.

    Returns:
      A Python float.
    """
    diff = jax.tree_util.tree_map(lambda a, b: jnp.sum((a - b) ** 2), params, params_0)
    norm = jax.tree_util.tree_map(lambda b: jnp.sum(b ** 2), params_0)
    return float(jnp.sqrt(sum(jax.tree_util.tree_leaves(diff)) / sum(jax.tree_util.tree_leaves(norm))))


def laziness(net: TrainedNet, x_eval, k_analytic=None, *, batch_size: int = 64) -> dict:
    r"""How far training moved a network: in parameters, and in its empirical NTK on ``x_eval``.

    .. math::
        \frac{\|\theta_T - \theta_0\|}{\|\theta_0\|}, \quad d(\hat\Theta_0, \hat\Theta_T), \quad
        d(\hat\Theta_0, \Theta), \quad d(\hat\Theta_T, \Theta), \quad
        \frac{\|\hat\Theta_T - \hat\Theta_0\|_F}{\|\hat\Theta_0\|_F}

    with :math:`d` the kernel distance of Fort et al. (2020) (``dynamics.distance``) and
    :math:`\Theta` the analytic NTK. Centring does not change the tangent kernel.

    Args:
      net: a :class:`TrainedNet`.
      x_eval: ``(m, h, w, c)`` fixed evaluation inputs (the same for every network compared).
      k_analytic: ``(m, m)`` analytic NTK on ``x_eval`` (``kernels.kernel_matrix``), or ``None``
        to skip the distances to it.
      batch_size: rows of the empirical NTK per block (bounds the Jacobian's memory:
        ``batch_size × parameters`` floats).

    Returns:
      ``{"param_change", "kernel_distance_init_final", "kernel_change",
      "kernel_distance_init_analytic", "kernel_distance_final_analytic"}`` of Python floats
      (the last two only with ``k_analytic``), and ``"lazy"``: ``evidence.is_lazy`` of the
      relative parameter and kernel changes, ``{"param_change": bool, "kernel_change": bool}``.
    """
    x_eval = np.asarray(x_eval, np.float32)
    k_0 = kernels.empirical_ntk(net.apply_fn, net.params_0, x_eval, batch_size=batch_size)
    k_t = kernels.empirical_ntk(net.apply_fn, net.params, x_eval, batch_size=batch_size)
    out = {
        "param_change": parameter_change(net.params, net.params_0),
        "kernel_distance_init_final": dynamics.distance(k_0, k_t),
        "kernel_change": float(np.linalg.norm(k_t - k_0) / np.linalg.norm(k_0)),
    }
    out["lazy"] = {name: bool(is_lazy(out[name])) for name in ("param_change", "kernel_change")}
    if k_analytic is not None:
        if np.shape(k_analytic) != k_0.shape:
            raise ValueError(f"k_analytic has shape {np.shape(k_analytic)}: expected {k_0.shape}, "
                             "the analytic NTK on x_eval.")
        out["kernel_distance_init_analytic"] = dynamics.distance(k_0, k_analytic)
        out["kernel_distance_final_analytic"] = dynamics.distance(k_t, k_analytic)
    return out
