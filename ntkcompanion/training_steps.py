r"""The compiled pieces of a training run: the network, its linearisation, the (adversarial) SGD step.

* :func:`network` builds a network of ``architectures`` once per set-up (the practical nets of
  ``adversarial_training``, the registry nets of ``lazy_training``);
  :func:`linearised` is a network's first-order Taylor expansion around an anchor
  (Lee et al. 2019) as a model of the pair ``(θ, θ_e)``.
* :func:`adversarial_examples` makes a step's training images (clean, FGSM or PGD,
  Madry et al. 2018) for the current parameters, inside the jitted step of :func:`make_step`.
* :func:`training_step` and :func:`predictor` memoise the jitted functions per model and
  settings, so the runs of a sweep (seeds, modes, switch epochs) compile each step once.
"""

import functools
import types

import jax
import jax.numpy as jnp
import optax

from ntkcompanion import architectures, attacks, losses

__all__ = ["network", "linearised", "adversarial_examples", "make_step", "training_step", "predictor"]


@functools.lru_cache(maxsize=None)
def network(name: str, depth: int, width: float, out_dim: int):
    """``(init_fn, apply_fn)`` of ``architectures.build``, built once per set-up.

    The same ``apply_fn`` object for every run of a set-up lets jit reuse its compilations
    (steps, attacks, the empirical NTK) across seeds, modes and switch epochs.
    """
    init_fn, apply_fn, _ = architectures.build(name, depth, width=width, out_dim=out_dim)
    return init_fn, apply_fn


@functools.lru_cache(maxsize=16)
def linearised(apply_fn):
    r"""The linearised network as a model of the parameter pair ``(θ, θ_e)``.

    .. math::
        f^{\mathrm{lin}}((\theta, \theta_e), x) = f_{\theta_e}(x) + \nabla_\theta f_{\theta_e}(x)\,(\theta - \theta_e)

    computed with one Jacobian-vector product. The anchor :math:`\theta_e` travels with the
    parameters (so one compiled step serves every switch epoch) but gets no gradient: plain
    or momentum SGD leaves it where it started.

    Args:
      apply_fn: ``apply_fn(params, x) -> logits`` of the network.

    Returns:
      ``f(pair, x) -> logits`` with ``pair = (θ, θ_e)``.
    """

    def f(pair, x):
        theta, anchor = pair
        anchor = jax.lax.stop_gradient(anchor)
        delta = jax.tree_util.tree_map(jnp.subtract, theta, anchor)
        out, tangent = jax.jvp(lambda p: apply_fn(p, x), (anchor,), (delta,))
        return out + tangent

    return f


def adversarial_examples(model_fn, params, x, y, key, config):
    """The training images of one step: clean (``"standard"``), FGSM or PGD against ``model_fn(params, ·)``.

    Jit-able; used inside :func:`make_step`.

    Args:
      model_fn: ``model_fn(params, x) -> (n, k)`` or ``(n, 1)`` logits.
      params: its parameters.
      x: ``(n, h, w, c)`` images in [0, 1].
      y: ``(n,)`` ±1 or ``(n, k)`` one-hot labels.
      key: ``jax.random`` key for PGD's random start.
      config: the run's settings (``adversarial_training.TrainConfig`` or any object with
        ``mode``, ``eps``, ``step_size``, ``steps``, ``random_start``, ``norm``).

    Returns:
      ``(n, h, w, c)`` images, without gradient to ``params``.
    """
    if config.mode == "standard":
        return x
    logits_fn = jax.tree_util.Partial(model_fn, jax.lax.stop_gradient(params))
    if config.mode == "fgsm":
        return attacks.fgsm(logits_fn, x, y, eps=config.eps, norm=config.norm)
    return attacks.pgd(logits_fn, x, y, eps=config.eps, step_size=config.step_size, steps=config.steps,
                       norm=config.norm, random_start=config.random_start, key=key)


def make_step(model_fn, optimizer, config):
    """One jitted SGD step on the (adversarial) loss.

    Args:
      model_fn: ``model_fn(params, x) -> logits``, the network or its linearisation.
      optimizer: an optax optimizer.
      config: the run's settings (mode and attack, as for :func:`adversarial_examples`).

    Returns:
      ``step(params, opt_state, x, y, key) -> (params, opt_state, loss)``, jitted; ``loss`` is the
      batch mean on the images of :func:`adversarial_examples`.
    """

    def loss_fn(params, x, y):
        logits = model_fn(params, x)
        return jnp.mean(losses.per_example(losses.default_loss(y), logits, y))

    @jax.jit
    def step(params, opt_state, x, y, key):
        x_train = adversarial_examples(model_fn, params, x, y, key, config)
        loss, grads = jax.value_and_grad(loss_fn)(params, x_train, y)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    return step


_STEP_FIELDS = ("mode", "eps", "step_size", "steps", "random_start", "norm", "learning_rate", "momentum")


@functools.lru_cache(maxsize=32)
def _cached_step(model_fn, fields: tuple):
    config = types.SimpleNamespace(**dict(zip(_STEP_FIELDS, fields)))
    optimizer = optax.sgd(config.learning_rate, momentum=config.momentum or None)
    return optimizer, make_step(model_fn, optimizer, config)


def training_step(model_fn, config):
    """``(optimizer, step)`` of :func:`make_step` for SGD with the run's settings, built once per set-up."""
    return _cached_step(model_fn, tuple(getattr(config, f) for f in _STEP_FIELDS))


@functools.lru_cache(maxsize=32)
def predictor(model_fn):
    """``jax.jit(model_fn)``, built once per model."""
    return jax.jit(model_fn)
