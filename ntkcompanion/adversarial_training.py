r"""Standard and adversarial training of finite networks, with empirical-NTK snapshots along the way.

One run is described by a :class:`TrainConfig`: the network (the authors' 6-conv CNN,
scalable in width and depth, or an MLP), the training mode and its attack, SGD, the
robust evaluation, and the kernel snapshots. :func:`train` runs it:

* **Modes.** ``"standard"`` minimises the loss on clean images; ``"fgsm"`` and ``"pgd"``
  minimise it on adversarial images made for the current parameters at every step
  (Madry et al. 2018) with ``attacks.fgsm`` (one step of size ε) and ``attacks.pgd``
  (``steps`` steps of ``step_size``, optional random start). The attack is part of the
  jitted training step, so ε, the step size and the number of steps all take effect
  (the authors' steps flag only renamed the output folder).
* **Loss.** Softmax cross-entropy for one-hot labels ``(n, k)``, binary cross-entropy for
  ±1 labels ``(n,)`` on a one-output network (``losses``).
* **Snapshots.** The empirical NTK with every logit pair kept (``trace_axes=()``),
  ``(n, n, k, k)``, on one fixed subset of clean training images (:func:`snapshot_indices`),
  the same images at every snapshot epoch, epoch 0 included.
* **Linearisation.** ``linearize_from=e`` trains the network up to epoch ``e`` and from
  there its first-order Taylor expansion (Lee et al. 2019),
  :math:`f^{\mathrm{lin}}_\theta(x) = f_{\theta_e}(x) + \nabla_\theta f_{\theta_e}(x)(\theta - \theta_e)`
  (``training_steps.linearised``), with the same loss, attack and optimiser. A fractional ``e`` switches
  inside epoch :math:`\lfloor e \rfloor + 1`, after the first :func:`switch_batches` SGD steps of
  the network's own batch order, so early switches (a quarter epoch, half an epoch) resolve the
  start of training, where the kernel moves most.
* **Compilation.** Networks, training steps and predictors are built once per set-up and
  reused by every run of a process (seeds, modes, switch epochs), so a sweep compiles
  each step once.
* **Cache and resume.** The parameters after every epoch (a checkpoint), the evaluations
  and the snapshots are ``cache`` entries keyed by everything that determines them (the
  run's set-up, seed, epoch and a fingerprint of the data). A run interrupted after ``k``
  epochs (a closed Colab session, a crash) resumes from epoch ``k`` when called again
  with the same arguments: it loads the checkpoints and trains only the epochs after
  ``k``. A write interrupted by a crash leaves no entry, so nothing half-written is read.

Randomness is a function of ``seed`` and the epoch only (batch order, random starts), so
a resumed run equals an uninterrupted one.

Example:
    >>> config = TrainConfig(network="cnn", width=0.25, mode="pgd", eps=0.1, step_size=0.025,
    ...                      steps=5, epochs=4, n_snapshot=50)
    >>> result = train(config, task.x_train, task.y_train, task.x_test, task.y_test)
    >>> result.history["robust_accuracy"], result.kernels()[0].shape   # (50, 50, 10, 10)
"""

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np

from ntkcompanion import architectures as _architectures
from ntkcompanion import attacks, cache, kernels, labels, losses, validate
from ntkcompanion import progress as _progress
from ntkcompanion import training_steps

__all__ = ["MODES", "NETWORKS", "NORMS", "TrainConfig", "TrainResult", "sgd_epoch", "snapshot_indices",
           "snapshot_epochs", "switch_batches", "train"]

MODES = ("standard", "fgsm", "pgd")
NETWORKS = tuple(_architectures.PRACTICAL)  # the practical nets this module trains
NORMS = attacks.NORMS


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run (the paper profile's values as defaults).

    Attributes:
      network: ``"cnn"`` or ``"mlp"``.
      width: CNN channel multiplier, or MLP hidden units.
      depth: CNN stages, or MLP hidden layers.
      mode: ``"standard"``, ``"fgsm"`` or ``"pgd"``.
      eps: attack radius ε (≥ 0) in ``norm``; FGSM takes one step of size ε.
      step_size: PGD step (> 0).
      steps: PGD steps (≥ 1).
      random_start: PGD starts uniformly in the ε-ball.
      norm: ``"linf"`` or ``"l2"``.
      learning_rate: SGD learning rate (> 0).
      momentum: SGD momentum in [0, 1) (0: plain SGD, as the authors).
      batch_size: examples per SGD step.
      epochs: epochs of training (≥ 1; at least ``linearize_from``).
      seed: initialisation, batch order and random starts.
      eval_eps, eval_step_size, eval_steps: the PGD (random start) that measures robust test
        accuracy.
      eval_every: epochs between evaluations (≥ 1); the first and last epoch are always evaluated,
        the others are NaN in the history.
      eval_at: further epochs evaluated whatever ``eval_every`` (e.g. the switch epochs).
      snapshot_every: epochs between kernel snapshots (0: none); epoch 0 and the last are included.
      n_snapshot: training images in the snapshot subset.
      kernel_batch_size: images per block of the empirical NTK.
      linearize_from: train the linearised network from this epoch on (``None``: never); a
        fraction switches within the next epoch (:func:`switch_batches`).
    """

    network: str = "cnn"
    width: float = 1.0
    depth: int = 3
    mode: str = "standard"
    eps: float = 8 / 255
    step_size: float = 2 / 255
    steps: int = 20
    random_start: bool = False
    norm: str = "linf"
    learning_rate: float = 0.01
    momentum: float = 0.0
    batch_size: int = 250
    epochs: int = 200
    seed: int = 0
    eval_eps: float = 8 / 255
    eval_step_size: float = 2 / 255
    eval_steps: int = 20
    eval_every: int = 1
    eval_at: tuple = ()
    snapshot_every: int = 1
    n_snapshot: int = 250
    kernel_batch_size: int = 25
    linearize_from: float | None = None

    def check(self, names: dict | None = None) -> "TrainConfig":
        """Validates every field; ``names`` maps a field to the name the user typed (``{"eps": "EPS"}``)."""
        n = {f.name: f.name for f in dataclasses.fields(self)} | dict(names or {})
        validate.one_of(n["network"], self.network, NETWORKS)
        validate.positive_float(n["width"], self.width)
        validate.positive_int(n["depth"], self.depth)
        validate.one_of(n["mode"], self.mode, MODES)
        validate.nonnegative_float(n["eps"], self.eps)
        validate.positive_float(n["step_size"], self.step_size)
        validate.positive_int(n["steps"], self.steps)
        validate.one_of(n["random_start"], self.random_start, (True, False))
        validate.one_of(n["norm"], self.norm, NORMS)
        validate.positive_float(n["learning_rate"], self.learning_rate)
        validate.float_in_range(n["momentum"], self.momentum, 0.0, 0.999)
        validate.positive_int(n["batch_size"], self.batch_size)
        validate.positive_int(n["epochs"], self.epochs)
        validate.nonnegative_int(n["seed"], self.seed)
        validate.nonnegative_float(n["eval_eps"], self.eval_eps)
        validate.positive_float(n["eval_step_size"], self.eval_step_size)
        validate.positive_int(n["eval_steps"], self.eval_steps)
        validate.positive_int(n["eval_every"], self.eval_every)
        for i, e in enumerate(self.eval_at):
            validate.nonnegative_int(f"{n['eval_at']}[{i}]", e)
        validate.nonnegative_int(n["snapshot_every"], self.snapshot_every)
        validate.positive_int(n["n_snapshot"], self.n_snapshot)
        validate.positive_int(n["kernel_batch_size"], self.kernel_batch_size)
        if self.linearize_from is not None:
            validate.nonnegative_float(n["linearize_from"], self.linearize_from)
            if self.linearize_from > self.epochs:
                raise ValueError(f"{n['linearize_from']} = {self.linearize_from!r} is not allowed: expected "
                                 f"None or a number of epochs in [0, {n['epochs']} = {self.epochs}].")
        return self

    def trajectory_fields(self) -> dict:
        """The fields that determine the parameters after each epoch (not how long, or what is measured)."""
        skip = {"epochs", "eval_eps", "eval_step_size", "eval_steps", "eval_every", "eval_at", "snapshot_every",
                "n_snapshot", "kernel_batch_size"}
        # Attack settings a mode does not use do not change its trajectory.
        if self.mode == "standard":
            skip |= {"eps", "step_size", "steps", "random_start", "norm"}
        elif self.mode == "fgsm":
            skip |= {"step_size", "steps", "random_start"}
        return {k: v for k, v in dataclasses.asdict(self).items() if k not in skip}


def snapshot_indices(n_train: int, n_snapshot: int, seed: int) -> np.ndarray:
    """The fixed subset of training images on which every kernel snapshot of a run is taken.

    Args:
      n_train: training set size.
      n_snapshot: subset size, at most ``n_train``.
      seed: integer ≥ 0.

    Returns:
      ``(n_snapshot,)`` sorted int64 indices, a function of the arguments only.
    """
    validate.positive_int("n_snapshot", n_snapshot)
    if n_snapshot > n_train:
        raise ValueError(f"n_snapshot = {n_snapshot} is not allowed: expected at most n_train = {n_train}.")
    return np.sort(np.random.default_rng([seed, 1]).choice(n_train, n_snapshot, replace=False))


def snapshot_epochs(epochs: int, every: int, start: int = 0) -> list[int]:
    """Snapshot epochs: ``start``, every ``every`` epochs after it, and the last (none if ``every`` is 0)."""
    if every == 0:
        return []
    return sorted(set(range(start, epochs + 1, every)) | {epochs})


def switch_batches(linearize_from: float, n_train: int, batch_size: int) -> int:
    r"""SGD steps of epoch :math:`\lfloor e \rfloor + 1` the network trains before a switch at epoch ``e``.

    :math:`\operatorname{round}((e - \lfloor e \rfloor)\, B)` of the epoch's :math:`B = \lceil n / b \rceil`
    batches; 0 for a whole epoch ``e``.

    Raises:
      ValueError: a fractional ``e`` that rounds to no step, or to the whole epoch.
    """
    whole = int(np.floor(linearize_from))
    if linearize_from == whole:
        return 0
    per_epoch = -(-n_train // batch_size)
    steps = int(round((linearize_from - whole) * per_epoch))
    if not 0 < steps < per_epoch:
        raise ValueError(f"linearize_from = {linearize_from!r} is not allowed: the fraction "
                         f"{linearize_from - whole:g} of an epoch of {per_epoch} SGD steps rounds to {steps} "
                         "steps; expected a whole epoch or a fraction of at least one step and less than the epoch.")
    return steps


@dataclasses.dataclass
class TrainResult:
    """What :func:`train` returns.

    Attributes:
      config: the run's :class:`TrainConfig`.
      params: parameters after the last epoch; for a linearised run the pair ``(θ, θ_e)`` of
        ``training_steps.linearised`` (``θ_e`` the network's parameters at the switch epoch).
      history: ``{"epoch", "train_loss", "clean_accuracy", "robust_accuracy"}``, each ``(E,)``, from the
        first epoch of the run (0, or ``linearize_from``) to the last; ``train_loss`` is NaN at the first,
        accuracies are NaN at epochs not evaluated (``eval_every``).
      snapshot_epochs: epochs with a kernel snapshot.
      snapshot_indices: ``(n_snapshot,)`` indices of the snapshot images in the training set.
      snapshot_fingerprints: ``cache.fingerprint`` of the images each snapshot was computed on.
      kernel_keys: cache key of each snapshot.
    """

    config: TrainConfig
    params: object
    history: dict
    snapshot_epochs: list
    snapshot_indices: np.ndarray
    snapshot_fingerprints: list
    kernel_keys: list

    def kernels(self) -> list:
        """The snapshots, each ``(n_snapshot, n_snapshot, k, k)`` float32, read from the cache."""
        out = []
        for epoch, entry_key in zip(self.snapshot_epochs, self.kernel_keys):
            arrays = cache.load(entry_key)
            if arrays is None:
                raise FileNotFoundError(f"the kernel snapshot of epoch {epoch} is no longer in the cache "
                                        f"({cache.cache_dir()}): rerun train().")
            out.append(arrays["ntk"])
        return out


def _check_data(x_train, y_train, x_test, y_test):
    for name, x, y in (("train", x_train, y_train), ("test", x_test, y_test)):
        if x.ndim != 4 or not np.issubdtype(x.dtype, np.floating):
            raise ValueError(f"x_{name} has shape {x.shape} and dtype {x.dtype}: expected floating-point "
                             "images (n, h, w, c) in [0, 1].")
        labels.check(y, len(x), name=f"y_{name}", per=f"{name} image")
    if y_train.shape[1:] != y_test.shape[1:]:
        raise ValueError(f"y_train {y_train.shape} and y_test {y_test.shape} use different label conventions.")


def _evaluate(predict_fn, model_fn, params, x, y, config, key):
    """Clean and PGD (random start) test accuracy, in batches of ``config.batch_size``."""
    clean, robust = [], []
    logits_fn = jax.tree_util.Partial(model_fn, params)
    for i in range(0, len(x), config.batch_size):
        xb, yb = x[i:i + config.batch_size], y[i:i + config.batch_size]
        x_adv = attacks.pgd(logits_fn, xb, yb, eps=config.eval_eps, step_size=config.eval_step_size,
                            steps=config.eval_steps, norm=config.norm, random_start=True,
                            key=jax.random.fold_in(key, i))
        clean.append(np.asarray(losses.correct(predict_fn(params, xb), jnp.asarray(yb))))
        robust.append(np.asarray(losses.correct(predict_fn(params, x_adv), jnp.asarray(yb))))
    return float(np.mean(np.concatenate(clean))), float(np.mean(np.concatenate(robust)))


def train(config: TrainConfig, x_train, y_train, x_test, y_test, *, progress: bool = True,
          desc: str | None = None) -> TrainResult:
    r"""Trains (or resumes, or loads) one run, evaluating it and taking kernel snapshots along the way.

    Every epoch's parameters are a checkpoint in the cache: a call after an interruption at
    epoch ``k`` loads epochs ``1..k`` and trains from ``k`` on; a finished run is only loaded.

    Args:
      config: the run (:class:`TrainConfig`); checked first.
      x_train: ``(n, h, w, c)`` images in [0, 1].
      y_train: ``(n,)`` ±1 or ``(n, k)`` one-hot labels (the network gets 1 or k outputs).
      x_test: ``(m, h, w, c)`` test images.
      y_test: ``(m,)`` or ``(m, k)`` test labels.
      progress: show a text progress bar over epochs (``progress.bar``).
      desc: the bar's label (default: the mode).

    Returns:
      A :class:`TrainResult`.
    """
    config.check()
    x_train, y_train = np.asarray(x_train, np.float32), np.asarray(y_train, np.float32)
    x_test, y_test = np.asarray(x_test, np.float32), np.asarray(y_test, np.float32)
    _check_data(x_train, y_train, x_test, y_test)
    indices = snapshot_indices(len(x_train), config.n_snapshot, config.seed)
    x_snapshot = x_train[indices]
    init_fn, apply_fn = training_steps.network(config.network, config.depth, config.width,
                                               1 if y_train.ndim == 1 else y_train.shape[1])
    init_key, train_key, eval_key = jax.random.split(jax.random.PRNGKey(config.seed), 3)
    _, params = init_fn(init_key, (-1,) + x_train.shape[1:])

    start, model_fn, start_accuracy, head = 0, apply_fn, None, 0
    if config.linearize_from is not None:
        start, model_fn = int(np.floor(config.linearize_from)), training_steps.linearised(apply_fn)
        head = switch_batches(config.linearize_from, len(x_train), config.batch_size)
        if start > 0:  # the network trained to the switch epoch (loaded from its checkpoints)
            base = train(dataclasses.replace(config, linearize_from=None, epochs=start, snapshot_every=0,
                                             eval_every=start, eval_at=()),
                         x_train, y_train, x_test, y_test, progress=progress, desc=f"{config.mode} to {start}")
            params = jax.tree_util.tree_map(jnp.asarray, base.params)
            # f_lin equals the network at the switch, inputs and gradients alike: same accuracies.
            start_accuracy = {"clean": base.history["clean_accuracy"][-1],
                              "robust": base.history["robust_accuracy"][-1]}
        if head:  # a switch inside epoch start + 1: the network takes that epoch's first `head` steps
            params, start_accuracy = _network_head(config, apply_fn, params, x_train, y_train, start, head,
                                                   train_key), None
        params = (params, params)
    optimizer, step = training_steps.training_step(model_fn, config)
    opt_state = optimizer.init(params)
    predict_fn = training_steps.predictor(model_fn)

    trajectory = dict(config.trajectory_fields(), train=cache.fingerprint(x_train),
                      labels=cache.fingerprint(y_train))
    evaluation = dict(eps=config.eval_eps, step_size=config.eval_step_size, steps=config.eval_steps,
                      norm=config.norm, batch_size=config.batch_size, test=cache.fingerprint(x_test),
                      labels=cache.fingerprint(y_test), seed=config.seed)
    snapshots = snapshot_epochs(config.epochs, config.snapshot_every) if config.linearize_from is None else []
    history = {k: [] for k in ("epoch", "train_loss", "clean_accuracy", "robust_accuracy")}
    fingerprints, kernel_keys = [], []
    bar = _progress.bar(range(start, config.epochs + 1), desc=desc or config.mode, disable=not progress)
    for epoch in bar:
        state_key = cache.key(kind="train-state", epoch=epoch, **trajectory)
        loaded = cache.load_tree(state_key, (params, opt_state), extra=True) if epoch > start else None
        if loaded is not None:  # a checkpoint: this epoch was trained before
            (params, opt_state), extra = loaded
            loss = float(extra["loss"])
        elif epoch == start:
            loss = float("nan")
        else:
            params, opt_state, loss = sgd_epoch(step, params, opt_state, x_train, y_train, config, epoch,
                                                train_key, head if epoch == start + 1 else 0)  # a fractional head
            cache.save_tree(state_key, (params, opt_state), extra={"loss": np.float64(loss)})
        if epoch == start and start_accuracy is not None:
            accuracy = start_accuracy
        elif (epoch - start) % config.eval_every == 0 or epoch == config.epochs or epoch in config.eval_at:
            accuracy = cache.cached(
                cache.key(kind="evaluation", state=state_key, **evaluation),
                lambda: dict(zip(("clean", "robust"), _evaluate(
                    predict_fn, model_fn, params, x_test, y_test, config, jax.random.fold_in(eval_key, epoch)))),
                shapes={"clean": (), "robust": ()})
        else:
            accuracy = {"clean": float("nan"), "robust": float("nan")}
        at = config.linearize_from if epoch == start and head else epoch  # a fractional switch is the first row
        for name, value in zip(history, (at, loss, float(accuracy["clean"]), float(accuracy["robust"]))):
            history[name].append(value)
        if epoch in snapshots:
            kernel_key = cache.key(kind="ntk-snapshot", state=state_key, images=cache.fingerprint(x_snapshot),
                                   batch_size=config.kernel_batch_size)
            entry = cache.cached(kernel_key, lambda: {
                "ntk": kernels.empirical_ntk(apply_fn, params, x_snapshot, trace_axes=(),
                                             batch_size=config.kernel_batch_size).astype(np.float32),
                "images": np.array(cache.fingerprint(x_snapshot))},
                shapes={"ntk": (len(x_snapshot), len(x_snapshot), *(y_train.shape[1:] or (1,)) * 2), "images": ()})
            fingerprints.append(str(entry["images"]))
            kernel_keys.append(kernel_key)
        bar.set_postfix(loss=f"{loss:.3f}", clean=f"{accuracy['clean']:.3f}",
                        robust=f"{accuracy['robust']:.3f}")
    return TrainResult(config=config, params=params, history={k: np.asarray(v) for k, v in history.items()},
                       snapshot_epochs=snapshots, snapshot_indices=indices,
                       snapshot_fingerprints=fingerprints, kernel_keys=kernel_keys)


def _network_head(config, apply_fn, params, x_train, y_train, start, head, train_key):
    """The network's parameters after the first ``head`` SGD steps of epoch ``start + 1`` (cached).

    The optimiser state at epoch ``start`` comes from the full run's checkpoint, so the steps are
    exactly the full run's first ``head`` steps of that epoch.
    """
    base = dataclasses.replace(config, linearize_from=None)
    trajectory = dict(base.trajectory_fields(), train=cache.fingerprint(x_train), labels=cache.fingerprint(y_train))
    optimizer, step = training_steps.training_step(apply_fn, base)
    opt_state = optimizer.init(params)
    if start > 0:  # the checkpoint train() just wrote or loaded for the network at the switch epoch
        checkpoint = cache.load_tree(cache.key(kind="train-state", epoch=start, **trajectory), (params, opt_state))
        if checkpoint is not None:
            params, opt_state = checkpoint
    entry = cache.key(kind="train-head", epoch=start + 1, head_steps=head, **trajectory)
    loaded = cache.load_tree(entry, params)
    if loaded is None:
        loaded, _, _ = sgd_epoch(step, params, opt_state, x_train, y_train, base, start + 1, train_key, 0, head)
        cache.save_tree(entry, loaded)
    return jax.tree_util.tree_map(jnp.asarray, loaded)


def sgd_epoch(step, params, opt_state, x_train, y_train, config, epoch, train_key, first=0, stop=None):
    """SGD steps ``first`` to ``stop`` (default: all) of one epoch; batch order and attack keys depend on
    ``(seed, epoch)`` only, so a resumed run equals an uninterrupted one and a run switched to its
    linearisation inside an epoch takes the rest of the same batches. Returns ``(params, opt_state,
    mean training loss)`` over the steps taken."""
    n = len(x_train)
    order = np.random.default_rng([config.seed, epoch]).permutation(n)
    starts = range(0, n, config.batch_size)
    # Every step's key fold_in(epoch key, b) in one call, and the losses summed once at the end: on a small
    # network a per-step dispatch of these costs as much as the step itself.
    keys = np.asarray(_batch_keys(jax.random.fold_in(train_key, epoch), len(starts)))  # host: no per-step slice
    taken, sizes = [], []
    for b, i in enumerate(starts):
        if b < first or (stop is not None and b >= stop):
            continue
        batch = order[i:i + config.batch_size]
        params, opt_state, batch_loss = step(params, opt_state, x_train[batch], y_train[batch], keys[b])
        taken.append(batch_loss)
        sizes.append(len(batch))
    return params, opt_state, float(np.dot(np.asarray(jnp.stack(taken), np.float64), sizes)) / sum(sizes)


@functools.partial(jax.jit, static_argnums=1)
def _batch_keys(epoch_key, n_batches: int):
    """``(n_batches, 2)``: ``jax.random.fold_in(epoch_key, b)`` for every batch ``b``, bit for bit."""
    return jax.vmap(jax.random.fold_in, in_axes=(None, 0))(epoch_key, jnp.arange(n_batches))
