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
    net = f"the {p['NETWORK']} (width {p['WIDTH']:g}, {params:,} parameters)"
    return [
        m.Allocation("the images", m.F32 * (p["N_TRAIN"] + p["N_TEST"]) * h * w * ch, ("N_TRAIN", "N_TEST"),
                     kept=True),
        m.Allocation(f"{snapshots} kernel snapshots of {rows} x {rows} (fewer with a larger SNAPSHOT_EVERY)",
                     snapshots * m.F64 * rows * rows, ("N_SNAPSHOT", "EPOCHS"), kept=True, host=True),
        m.Allocation(f"one block of the empirical NTK of {net}", 4 * m.F32 * params +
                     m.empirical_ntk_block(params, acts, min(p["KERNEL_BATCH_SIZE"], p["N_SNAPSHOT"]), k),
                     ("KERNEL_BATCH_SIZE", "WIDTH", "DEPTH")),
        m.Allocation(f"one training or evaluation batch of {net} (or of its linearisation)",
                     8 * m.F32 * params + 6 * m.F32 * p["BATCH_SIZE"] * acts,
                     ("BATCH_SIZE", "WIDTH", "DEPTH")),
    ]


def work(p) -> dict:
    """Work of the whole sweep, the linearisation at its worst (every switch epoch run, at twice the cost).

    Everything is per seed: ``N_SEEDS`` is the factor to change when the seeds change; the
    linearised runs scale with ``len(SWITCH_EPOCHS) × len(LINEARISED_MODES)``.
    """
    params, _, k = _net(p)
    attack = {"standard": 0, "fgsm": 1, "pgd": p["ATTACK_STEPS"]}
    per_epoch = {mode: 6.0 * p["N_TRAIN"] * params * (1 + attack[mode]) for mode in attack}
    evaluation = 6.0 * p["N_TEST"] * params * (1 + p["EVAL_ATTACK_STEPS"])
    evaluations = len(set(p["SWITCH_EPOCHS"]) | {0, p["EPOCHS"]})
    snapshots = n_snapshots(p) * 2.0 * (p["N_SNAPSHOT"] * k) ** 2 * params
    train = sum(p["EPOCHS"] * per_epoch[mode] + evaluations * evaluation for mode in p["MODES"])
    train += sum(2 * (p["EPOCHS"] - e) * per_epoch[mode] + 2 * evaluation
                 for mode in p["LINEARISED_MODES"] for e in p["SWITCH_EPOCHS"])
    return {"train": p["N_SEEDS"] * train,
            m.empirical_kind(p["NETWORK"]): p["N_SEEDS"] * len(p["MODES"]) * snapshots}
