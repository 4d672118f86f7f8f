"""The paper profile against a free Colab session: estimates, sessions, and what each section gives up to fit.

Every section's block of ``params/paper.yaml`` is sized so that, by the model, it fits one free
Colab T4 session (``_devices.COLAB_BUDGET``: at most 2 h, 10 GB of host and 14 GB of device
memory), or, for a section that resumes from its checkpoints (:data:`RESUMABLE`), so that each
session's share is at most 2 h. Where the authors' set-up itself does not fit, :data:`DEVIATIONS`
says in words what the profile changes and holds the authors' values, so that the page states
the deviation next to the model's estimate for the full set-up.
"""

from __future__ import annotations

import dataclasses
import math

from ntkcompanion.cost._devices import COLAB_BUDGET, COLAB_HOST_MEMORY, COLAB_SESSION_S, DEVICES, T4
from ntkcompanion.cost._model import Estimate, estimate
from ntkcompanion.cost._resources import format_bytes

__all__ = ["DEVIATIONS", "RESUMABLE", "Deviation", "authors_estimate", "paper_estimates", "paper_glue",
           "paper_table", "sessions"]

#: Sections whose runs resume from per-epoch checkpoints: their work may span several sessions.
RESUMABLE = frozenset({"08_adversarial_training"})


@dataclasses.dataclass(frozen=True)
class Deviation:
    """What a section's paper profile changes against the authors' set-up (or the book's full one).

    Attributes:
      what: the change, in words, completing "To fit a free Colab session, this profile ...": a
        ``str.format`` template over the run's parameters, so the page states the sizes it ran.
      full: the parameter values of the full set-up, over the paper profile's.
      full_name: the full set-up, in words ("the authors' set-up").
    """

    what: str
    full: dict
    full_name: str = "the authors' set-up"


DEVIATIONS = {
    "01_ntk_primer": Deviation(
        "fits the kernels on {N_TRAIN:,} training images", {"N_TRAIN": 2000},
        "the same kernels on the authors' 2,000 training images"),
    "06_consistency": Deviation(
        "compares the Myrtle kernel's features with the others but attacks only the FC and conv kernels' "
        "features", {"ATTACKED": [True, True, True]},
        "attacking the Myrtle features too (on 32×32 images)"),
    "08_adversarial_training": Deviation(
        "trains {EPOCHS} epochs with PGD-{ATTACK_STEPS} (PGD-{EVAL_ATTACK_STEPS} to "
        "evaluate), switches to the linearised network at epochs {SWITCH_EPOCHS}, and takes kernel snapshots on "
        "{N_SNAPSHOT} images",
        {"N_TEST": 10000, "EPOCHS": 200, "ATTACK_STEPS": 20, "N_SNAPSHOT": 250,
         "TRANSIENT_EPOCHS": 5, "SWITCH_EPOCHS": [0, 5, 10, 25, 50, 100]},
        "the authors' set-up (all 50,000 images, 200 epochs, PGD-20, 2500 × 2500 kernels every epoch)"),
}


def sessions(section: str, est: Estimate) -> int:
    """Colab sessions of at most ``COLAB_BUDGET.seconds`` the run needs: 1 unless the section resumes."""
    if section not in RESUMABLE:
        return 1
    return max(1, math.ceil(est.seconds / COLAB_BUDGET.seconds))


def paper_estimates(section: str, values) -> dict[str, Estimate]:
    """The :class:`Estimate` of ``values`` (a section's paper profile) on each of ``DEVICES``."""
    return {key: estimate(section, values, device) for key, device in DEVICES.items()}


def _plain(values) -> dict:
    return dict(values._values if hasattr(values, "_values") else values)


def authors_estimate(section: str, values) -> Estimate | None:
    """The T4 estimate of the full set-up of :data:`DEVIATIONS` (``None`` when ``values`` are the full set-up)."""
    deviation = DEVIATIONS.get(section)
    plain = _plain(values)
    if deviation is None or all(plain.get(k) == v for k, v in deviation.full.items()):
        return None
    return estimate(section, plain | deviation.full, T4)


def _fits(est: Estimate, section: str) -> bool:
    per_session = est.seconds / sessions(section, est)
    return (per_session <= COLAB_BUDGET.seconds and est.host_bytes <= COLAB_BUDGET.host_bytes
            and est.device_bytes <= COLAB_BUDGET.device_bytes)


def paper_glue(section: str, values) -> dict[str, str]:
    """Glue values for a section's title cell, from its paper-profile ``values``.

    Returns:
      ``paper_runtime_t4``, ``paper_runtime_h100`` (``"about 25 min"``), ``paper_peak_memory``
      (on the T4, whose memory sets the block sizes: ``"12.3 GB"``) and ``paper_colab_note``:
      what the profile gives up to fit a free Colab session (with the model's estimate for the
      full set-up), the sessions a resumable run spans, and a warning when it does not fit.
    """
    est = paper_estimates(section, values)
    t4 = est["t4"]
    notes = []
    full = authors_estimate(section, values)
    if full is not None:
        deviation = DEVIATIONS[section]
        what = deviation.what.format(**{k: ", ".join(map(str, v)) if isinstance(v, list) else v
                                        for k, v in _plain(values).items()})
        notes.append(f"To fit a free Colab session with a margin, this profile {what}; {deviation.full_name} would "
                     f"take {full.runtime} on a T4 (peak host memory {format_bytes(full.host_bytes)}, device "
                     f"memory {format_bytes(full.device_bytes)}).")
    n = sessions(section, t4)
    if n > 1:
        notes.append(f"On a Colab T4 it spans about {n} sessions of at most {COLAB_BUDGET.seconds / 3600:.0f} h: "
                     "rerun the notebook in each, it resumes from its last finished epoch.")
    elif t4.seconds > COLAB_SESSION_S:
        notes.append(f"On a Colab T4 this is longer than a Colab session (at most about "
                     f"{COLAB_SESSION_S // 3600} h): run it on a longer-lived GPU, or in parts.")
    if t4.device_bytes > COLAB_BUDGET.device_bytes:
        notes.append(f"Its device memory peak exceeds the T4's {T4.memory / 1e9:.0f} GB: use a larger GPU or "
                     "smaller sizes.")
    if t4.host_bytes > COLAB_HOST_MEMORY:
        notes.append(f"Its host memory peak ({format_bytes(t4.host_bytes)}) exceeds a free Colab session's "
                     f"{COLAB_HOST_MEMORY / 1e9:.1f} GB of RAM.")
    return {"paper_runtime_t4": t4.runtime, "paper_runtime_h100": est["h100"].runtime,
            "paper_peak_memory": t4.memory, "paper_colab_note": " ".join(notes)}


def paper_table(values_by_section: dict) -> str:
    """Every section's paper-profile estimate as a Markdown table (``python -m ntkcompanion.cost --paper``).

    Args:
      values_by_section: ``{section: validated paper-profile values}`` (``sections.paper_values``), in order.

    One row per section: runtime on a Colab T4 and the sessions it spans, runtime on an H100-class
    GPU, peak host and device memory on the T4, whether it fits the Colab budget, and the model's
    T4 runtime of the full set-up where the profile deviates from it.
    """
    lines = ["| section | Colab T4 | sessions | H100-class GPU | peak host memory | peak device memory | fits "
             "| full set-up on a T4 |", "| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: |"]
    for section, values in values_by_section.items():
        est = paper_estimates(section, values)
        t4 = est["t4"]
        full = authors_estimate(section, values)
        lines.append(f"| `{section}` | {t4.runtime.removeprefix('about ')} | {sessions(section, t4)} | "
                     f"{est['h100'].runtime.removeprefix('about ')} | {format_bytes(t4.host_bytes)} | "
                     f"{format_bytes(t4.device_bytes)} | {'yes' if _fits(t4, section) else 'no'} | "
                     f"{full.runtime.removeprefix('about ') if full else 'same'} |")
    return "\n".join(lines)
