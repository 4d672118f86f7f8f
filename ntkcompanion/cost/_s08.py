"""Section 8, adversarial training: kernel dynamics of practical networks under standard and adversarial training.

Largest allocations: the empirical NTK snapshots (``N_SNAPSHOT × logits`` squared floats,
one per snapshot epoch, run and seed, kept on the host), one block of the empirical NTK
(``KERNEL_BATCH_SIZE × logits × parameters`` floats per Jacobian) and a training batch
(the linearised network holds its parameters twice: the trained ones and the anchor).
"""

from __future__ import annotations

from ntkcompanion.cost import _memory as m
from ntkcompanion.cost._task import image_shape, n_outputs

__all__ = ["memory", "n_snapshots", "work"]


def _net(p):
    shape, k = image_shape(p), n_outputs(p)
    return (m.trained_params(p["NETWORK"], p["WIDTH"], p["DEPTH"], shape, k),
            m.trained_activations(p["NETWORK"], p["WIDTH"], p["DEPTH"], shape), k)


def n_snapshots(p) -> int:
    """Kernel snapshots per run: epoch 0, every ``SNAPSHOT_EVERY`` epochs, and the last."""
    return len(set(range(0, p["EPOCHS"] + 1, p["SNAPSHOT_EVERY"])) | {p["EPOCHS"]})


def memory(p) -> list:
    h, w, ch = image_shape(p)
    params, acts, k = _net(p)
    rows = p["N_SNAPSHOT"] * k
    snapshots = n_snapshots(p) * len(p["MODES"]) * p["N_SEEDS"]
    held = n_snapshots(p) * len(p["MODES"])
    net = f"the {p['NETWORK']} (width {p['WIDTH']:g}, {params:,} parameters)"
    return [
        m.Allocation("the images", m.F32 * (p["N_TRAIN"] + p["N_TEST"]) * h * w * ch, ("N_TRAIN", "N_TEST"),
                     kept=True),
        # Snapshots live in the cache on disk (float32); the page reads every mode's snapshots of one seed at
        # once, and each measure turns one or two of them into float64 matrices and eigendecomposes them.
        m.Allocation(f"{held} kernel snapshots of {rows} x {rows} read at once (of {snapshots}; fewer with a "
                     "larger SNAPSHOT_EVERY)", held * m.F32 * rows * rows, ("N_SNAPSHOT", "SNAPSHOT_EVERY"),
                     kept=True, host=True),
        m.Allocation("the float64 matrices and eigendecomposition of a snapshot", 6 * m.F64 * rows * rows,
                     ("N_SNAPSHOT",), host=True),
        m.Allocation(f"the empirical NTK of {net} on the snapshot images", 4 * m.F32 * params +
                     m.empirical_ntk_memory(params, acts, p["N_SNAPSHOT"], p["KERNEL_BATCH_SIZE"], k),
                     ("KERNEL_BATCH_SIZE", "WIDTH", "DEPTH")),
        m.Allocation(f"one training or evaluation batch of {net} (or of its linearisation)",
                     8 * m.F32 * params + 6 * m.F32 * p["BATCH_SIZE"] * acts,
                     ("BATCH_SIZE", "WIDTH", "DEPTH")),
    ]


def work(p) -> dict:
    """Work of the whole sweep, the linearisation at its worst (every switch epoch run, at twice the cost; the
    search from the last switch back stops once no metric is within the margin, so runs often take less).

    A training step costs a forward and a backward pass (``3 ×`` forward) per image, and each
    attack step in training or evaluation as much again; the linearised network (a JVP) costs
    twice the network. A kernel snapshot is ``kernels.empirical_ntk`` with every logit on
    ``N_SNAPSHOT`` images (``_memory.empirical_ntk_flops``).
    Everything is per seed: ``N_SEEDS`` is the factor to change when the seeds change; the
    linearised runs scale with ``len(SWITCH_EPOCHS) × len(LINEARISED_MODES)``.
    """
    params, _, k = _net(p)
    forward = m.trained_forward_flops(p["NETWORK"], p["WIDTH"], p["DEPTH"], image_shape(p), k)
    attack = {"standard": 0, "fgsm": 1, "pgd": p["ATTACK_STEPS"]}
    per_epoch = {mode: 3.0 * forward * p["N_TRAIN"] * (1 + attack[mode]) for mode in attack}
    evaluation = 3.0 * forward * p["N_TEST"] * (1 + p["EVAL_ATTACK_STEPS"])
    # A full run is evaluated at the start, at every whole switch epoch and at the end; a linearised one at its
    # switch (fractional switches only) and at the end.
    evaluations = len({int(e) for e in p["SWITCH_EPOCHS"] if float(e).is_integer()} | {0, p["EPOCHS"]})
    snapshot = m.empirical_ntk_flops(forward, params, p["N_SNAPSHOT"], p["KERNEL_BATCH_SIZE"], k)
    train = sum(p["EPOCHS"] * per_epoch[mode] + evaluations * evaluation for mode in p["MODES"])
    train += sum(2 * (p["EPOCHS"] - e) * per_epoch[mode] + 2 * evaluation
                 for mode in p["LINEARISED_MODES"] for e in p["SWITCH_EPOCHS"])
    return {m.train_kind(p["NETWORK"]): p["N_SEEDS"] * train,
            m.empirical_kind(p["NETWORK"]): p["N_SEEDS"] * len(p["MODES"]) * n_snapshots(p) * snapshot}
