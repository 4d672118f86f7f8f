r"""When does training become lazy? Runs over modes and seeds, their kernel measurements, and the linearisation test.

Claim 7 of the paper (§5): under adversarial training the empirical NTK of a practical net
falls into the lazy regime earlier, and leans more on its top eigenspace, than under standard
training. This module produces the three measurements ``evidence.claims.claim7`` decides on,
per seed, for every training mode:

* **Linearisation** (the authors' main evidence). From switch epoch :math:`e` on (fractions
  of an epoch allowed, ``adversarial_training.switch_batches``), train the network's first-order
  Taylor expansion around :math:`\theta_e` instead of the network (``adversarial_training`` with
  ``linearize_from=e``). Whether the linearised run is *lazy* is the evidence layer's test
  (``evidence.within_margin``: it ends within ``evidence.LINEARISATION_MARGIN`` of the network
  trained throughout), applied in *both* clean and robust (PGD) test accuracy for *every* mode,
  so standard and adversarial training are judged in the same accuracies and their lazy epochs
  (``evidence.lazy_epochs``: the earliest switch from which on every switch is within the margin)
  compare. :func:`switch_search` tries the switch epochs from the last back and stops once every
  accuracy has been outside the margin: earlier switches cannot change a lazy epoch then. The
  late switches it starts with are the cheap ones (few epochs left to train).
* **Kernel velocity** :math:`d(K_{t_{i+1}}, K_{t_i}) / (t_{i+1} - t_i)` between consecutive
  snapshots (``dynamics.velocity``), ``(n_seeds, T - 1)``.
* **Top-k spectral mass** :math:`m_k(t)` of every snapshot (``dynamics.spectral_mass``),
  ``(n_seeds, T)``.

Seeds change the initialisation, batch order, attack starts and snapshot subset; the data are
the same for every seed. Every run is cached per epoch, so an interrupted sweep resumes.

Example:
    >>> runs = train_runs(config, ["standard", "pgd"], [0, 1, 2], task)
    >>> measures = kernel_measures(runs["pgd"], top_k=10)
    >>> lin, full = linearisation(config, runs, ["standard", "pgd"], [0, 0.25, 0.5, 1, 2, 4], task)
    >>> lin["pgd"]["clean"].shape, full["pgd"]["robust"].shape     # (3, 6), (3,)
"""

import dataclasses

import numpy as np

from ntkcompanion import adversarial_training, dynamics, validate
from ntkcompanion import evidence as ev
from ntkcompanion.evidence import LAZY_METRICS, LINEARISATION_MARGIN

__all__ = ["train_runs", "final_accuracy", "kernel_measures", "switch_search", "linearisation",
           "lazy_epoch_table", "accuracy_table", "adversarial_mode", "undertrained", "claim7_inputs", "setting",
           "versus_paper"]


def _data(task):
    return task.x_train, task.y_train, task.x_test, task.y_test


def train_runs(config, modes, seeds, task, *, progress: bool = True) -> dict:
    """Trains (or loads) one run per mode and seed.

    Args:
      config: an ``adversarial_training.TrainConfig``; its ``mode`` and ``seed`` are replaced.
      modes: training modes (``"standard"``, ``"fgsm"``, ``"pgd"``).
      seeds: integers ≥ 0.
      task: a ``data.Task``.
      progress: progress bars (``progress.bar``).

    Returns:
      ``{mode: [TrainResult, one per seed]}``.
    """
    return {mode: [adversarial_training.train(dataclasses.replace(config, mode=mode, seed=seed), *_data(task),
                                              progress=progress, desc=f"{mode}, seed {seed}")
                   for seed in seeds] for mode in modes}


def final_accuracy(results, metric: str) -> np.ndarray:
    """``(n_seeds,)`` final ``"clean"`` or ``"robust"`` test accuracy of each run."""
    validate.one_of("metric", metric, LAZY_METRICS)
    return np.array([r.history[f"{metric}_accuracy"][-1] for r in results], float)


def kernel_measures(results, top_k: int) -> dict:
    """Velocity and top-k spectral mass of each run's kernel trajectory.

    Args:
      results: ``TrainResult`` of one mode, one per seed, with the same snapshot epochs.
      top_k: eigenvalues counted in the spectral mass.

    Returns:
      ``{"epochs": (T,), "velocity": (n_seeds, T - 1), "topk": (n_seeds, T)}``; velocity entry
      ``i`` is the kernel distance per epoch between snapshots ``i`` and ``i + 1``.
    """
    epochs = {tuple(r.snapshot_epochs) for r in results}
    if len(epochs) != 1 or len(next(iter(epochs))) < 2:
        raise ValueError(f"the runs have snapshot epochs {sorted(epochs)}: expected one list of at least two "
                         "(SNAPSHOT_EVERY at most EPOCHS).")
    epochs = np.asarray(next(iter(epochs)))
    velocity, topk = [], []
    for result in results:
        snapshots = result.kernels()
        velocity.append(dynamics.velocity(snapshots, epochs))
        topk.append(dynamics.spectral_mass(snapshots, top_k))
    return {"epochs": epochs, "velocity": np.array(velocity), "topk": np.array(topk)}


def switch_search(config, switch_epochs, task, *, full: dict, margin: float = LINEARISATION_MARGIN,
                  progress: bool = True) -> dict:
    """Final accuracies of the runs linearised from each switch epoch, from the last back to the lazy epochs.

    Args:
      config: the full run's ``TrainConfig`` (mode and seed included).
      switch_epochs: increasing epochs in ``[0, config.epochs)``, fractions allowed.
      task: a ``data.Task``.
      full: ``{metric: final accuracy}`` of the full run, for every metric in ``evidence.LAZY_METRICS``.
      margin: how close counts as lazy (the evidence vocabulary's).

    Returns:
      ``{metric: (n_switch,)}`` final accuracies; NaN for the switches before the point where every
      metric had been outside the margin (not run: they cannot change a lazy epoch,
      ``evidence.lazy_epochs``).
    """
    switch_epochs = [float(e) for e in switch_epochs]
    if sorted(set(switch_epochs)) != switch_epochs or switch_epochs[0] < 0 or switch_epochs[-1] >= config.epochs:
        raise ValueError(f"SWITCH_EPOCHS = {switch_epochs!r} is not allowed: expected increasing, distinct "
                         f"epochs in [0, EPOCHS = {config.epochs}).")
    if set(full) != set(LAZY_METRICS):
        raise ValueError(f"full names {sorted(full)}: expected the full run's accuracy in each of {LAZY_METRICS}.")
    for e in switch_epochs:  # a fraction too small for one SGD step fails here, before any training
        adversarial_training.switch_batches(e, len(task.x_train), config.batch_size)
    out = {metric: np.full(len(switch_epochs), np.nan) for metric in LAZY_METRICS}
    failed = set()
    for i in reversed(range(len(switch_epochs))):
        e = int(switch_epochs[i]) if switch_epochs[i].is_integer() else switch_epochs[i]
        run = adversarial_training.train(
            dataclasses.replace(config, linearize_from=e, eval_every=config.epochs, eval_at=()), *_data(task),
            progress=progress, desc=f"{config.mode}, seed {config.seed}, linearised from {e}")
        for metric in LAZY_METRICS:
            out[metric][i] = run.history[f"{metric}_accuracy"][-1]
        # One row per metric: which accuracies this switch leaves outside the margin.
        close = ev.within_margin([[out[m][i]] for m in LAZY_METRICS], [full[m] for m in LAZY_METRICS], margin)
        failed |= {m for m, c in zip(LAZY_METRICS, close[:, 0]) if not c}
        if failed == set(LAZY_METRICS):
            break
    return out


def linearisation(config, runs: dict, modes, switch_epochs, task, *, margin: float = LINEARISATION_MARGIN,
                  progress: bool = True) -> tuple[dict, dict]:
    """The linearisation experiment for every mode in ``modes`` and every seed of ``runs``.

    Args:
      config: the ``TrainConfig`` the runs were trained with.
      runs: :func:`train_runs` output.
      modes: the modes to linearise (each a key of ``runs``).
      switch_epochs: increasing epochs below ``config.epochs`` (fractions allowed).

    Returns:
      ``(linearised, full)``: ``{mode: {metric: (n_seeds, n_switch)}}`` final accuracies of the
      linearised runs (NaN where not needed, :func:`switch_search`) and ``{mode: {metric: (n_seeds,)}}``
      of the full runs, for both metrics of ``evidence.LAZY_METRICS`` (clean and robust).
    """
    linearised, full = {}, {}
    for mode in modes:
        full[mode] = {metric: final_accuracy(runs[mode], metric) for metric in LAZY_METRICS}
        searches = [switch_search(r.config, switch_epochs, task, margin=margin, progress=progress,
                                  full={metric: full[mode][metric][s] for metric in LAZY_METRICS})
                    for s, r in enumerate(runs[mode])]
        linearised[mode] = {metric: np.array([search[metric] for search in searches]) for metric in LAZY_METRICS}
    return linearised, full


def lazy_epoch_table(linearised: dict, full: dict, switch_epochs, *, margin: float = LINEARISATION_MARGIN):
    """Every seed's lazy epoch (``evidence.lazy_epochs``) in each accuracy, for each linearised mode.

    Returns:
      A DataFrame indexed by ``(mode, accuracy)`` with one column per seed (NaN: never lazy on the
      grid): what the lazy-epoch verdicts compare, seed by seed.
    """
    import pandas as pd  # only the notebook's tables need pandas

    rows = {}
    for mode, by_metric in linearised.items():
        for metric, values in by_metric.items():
            epochs = ev.lazy_epochs(switch_epochs, values, full[mode][metric], margin)
            rows[(mode, metric)] = {f"seed {s}": (e if np.isfinite(e) else np.nan) for s, e in enumerate(epochs)}
    if not rows:
        return pd.DataFrame()
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index = pd.MultiIndex.from_tuples(table.index, names=["mode", "accuracy"])
    return table


def setting(config, task) -> str:
    """The network, training and data a run's verdicts were measured on, in words: the scope of its decisions."""
    if config.network == "mlp":
        layers = f"{config.depth} hidden layer{'s' if config.depth > 1 else ''}"
        net = f"a fully connected network (MLP) with {layers} of {int(config.width)} units"
    else:
        net = f"the authors' CNN with {2 * config.depth} convolutions at channel multiplier {config.width:g}"
    return (f"{net}, trained for {config.epochs} epochs of SGD on {task.dataset} ({len(task.x_train)} training "
            f"and {len(task.x_test)} test images, {task.n_classes} classes)")


def versus_paper(config, task) -> str:
    """How the run relates to the paper's set-up (the 6-convolution CNN at full width on CIFAR-10), in words."""
    if (config.network == "cnn" and config.depth == 3 and config.width == 1.0
            and "cifar10" in str(task.dataset).lower().replace("-", "").replace("_", "")):
        return "the paper's own network and data"
    return "a stand-in for the paper's 6-convolution CNN on CIFAR-10, not that network"


def accuracy_table(runs: dict):
    """Final clean and robust test accuracy of every mode: mean over seeds with its 95% t-interval.

    Returns:
      A DataFrame indexed by mode with columns ``clean``, ``clean 95% CI``, ``robust``, ``robust 95% CI``
      and ``seeds``.
    """
    import pandas as pd  # only the notebook's tables need pandas

    rows = {}
    for mode, results in runs.items():
        row = {}
        for metric in LAZY_METRICS:
            mean, (low, high) = ev.seed_ci(final_accuracy(results, metric))
            low, high = max(low, 0.0), min(high, 1.0)  # an accuracy's interval stays in [0, 1]
            row |= {metric: round(mean, 3), f"{metric} 95% CI": f"[{low:.3f}, {high:.3f}]"}
        rows[mode] = row | {"seeds": len(results)}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("mode")


def adversarial_mode(modes) -> str | None:
    """The adversarial run a verdict compares with standard training: PGD if present, else the other one."""
    others = [m for m in modes if m != "standard"]
    return "pgd" if "pgd" in others else (others[0] if others else None)


def undertrained(runs: dict, target_clean: float, target_robust: float) -> str | None:
    """Why the nets fall short of the stated accuracy (``None`` if they reach it).

    Standard training must reach ``target_clean`` clean test accuracy and the adversarial run of
    :func:`adversarial_mode` ``target_robust`` robust accuracy, both as means over seeds.
    """
    short = []
    clean = final_accuracy(runs["standard"], "clean").mean()
    if clean < target_clean:
        short.append(f"standard training's clean accuracy {clean:.3f} < {target_clean:g}")
    adversarial = adversarial_mode(runs)
    if adversarial is not None:
        robust = final_accuracy(runs[adversarial], "robust").mean()
        if robust < target_robust:
            short.append(f"{adversarial} training's robust accuracy {robust:.3f} < {target_robust:g}")
    return "; ".join(short) or None


def claim7_inputs(measures: dict, linearised: dict, full: dict, switch_epochs, *, transient_epochs: int) -> dict:
    """The keyword arguments of ``evidence.claims.claim7`` for standard against the adversarial run.

    Args:
      measures: mode → :func:`kernel_measures` output.
      linearised, full: :func:`linearisation` output (may be empty: no linearisation verdict).
      switch_epochs: the switch epochs.
      transient_epochs: epochs left out of the velocity and top-k averages; converted to the
        number of snapshots (columns) before that epoch.

    Returns:
      A dict for ``claim7(**inputs, k=...)``.
    """
    adversarial = adversarial_mode(measures)
    epochs = np.asarray(measures["standard"]["epochs"])
    inputs = {"velocity_standard": measures["standard"]["velocity"],
              "velocity_adversarial": measures[adversarial]["velocity"],
              "topk_standard": measures["standard"]["topk"], "topk_adversarial": measures[adversarial]["topk"],
              "transient": int(np.sum(epochs < transient_epochs))}
    lin_adversarial = adversarial_mode(linearised) if "standard" in linearised else None
    if lin_adversarial is not None:
        inputs |= {"switch_epochs": list(switch_epochs), "linearised_standard": linearised["standard"],
                   "full_standard": full["standard"], "linearised_adversarial": linearised[lin_adversarial],
                   "full_adversarial": full[lin_adversarial]}
    return inputs
