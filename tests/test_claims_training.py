"""Claim 7 on planted runs: every verdict reaches every state, and two identical training modes support nothing.

The planted runs are what ``laziness.linearisation`` and ``laziness.kernel_measures`` return: per
seed, the final clean and robust accuracy of the run linearised from each switch epoch and of the
full run, kernel velocities and top-k masses over epochs.
"""

import numpy as np
import pytest

from ntkcompanion import evidence as ev
from ntkcompanion.evidence import claims

SUP, NOT, UND = ev.Decision.SUPPORTED, ev.Decision.NOT_SUPPORTED, ev.Decision.UNDETERMINED
SWITCH = [0, 0.25, 0.5, 1, 2, 4]
SEEDS = 6


def planted_search(lazy_from, full, seeds=SEEDS, *, rng=None, noise=0.004):
    """``(n_seeds, n_switch)`` linearised accuracies that reach ``full`` (within 0.02) from switch ``lazy_from[s]``.

    Before the lazy switch the linearised run ends 0.1 to 0.05 below the full run, after it within
    ±``noise`` (< the 0.02 margin); ``lazy_from`` is one switch epoch per seed (``inf``: never).
    """
    rng = np.random.default_rng(0) if rng is None else rng
    lazy_from = np.broadcast_to(np.asarray(lazy_from, float), (seeds,))
    full = np.broadcast_to(np.asarray(full, float), (seeds,))
    gap = np.where(np.asarray(SWITCH)[None, :] >= lazy_from[:, None],
                   rng.uniform(-noise, noise, (seeds, len(SWITCH))),
                   -np.linspace(0.10, 0.05, len(SWITCH))[None, :])
    return full[:, None] + gap


def linearisation(std_clean, adv_clean, std_robust, adv_robust, *, full=(0.96, 0.92, 0.20, 0.70), seeds=SEEDS,
                  **kwargs):
    """The two linearisation verdicts (clean, robust) for planted lazy epochs of each mode and accuracy."""
    rng = np.random.default_rng(1)
    f = {k: np.full(seeds, v) for k, v in zip(("sc", "ac", "sr", "ar"), full)}
    verdicts = claims.claim7(
        switch_epochs=SWITCH,
        linearised_standard={"clean": planted_search(std_clean, f["sc"], seeds, rng=rng),
                             "robust": planted_search(std_robust, f["sr"], seeds, rng=rng)},
        full_standard={"clean": f["sc"], "robust": f["sr"]},
        linearised_adversarial={"clean": planted_search(adv_clean, f["ac"], seeds, rng=rng),
                                "robust": planted_search(adv_robust, f["ar"], seeds, rng=rng)},
        full_adversarial={"clean": f["ac"], "robust": f["ar"]}, **kwargs)
    assert [v.key for v in verdicts] == ["claim7_linearisation_clean", "claim7_linearisation_robust"]
    return verdicts


EARLY = [0.25, 0.5, 0.25, 0.5, 0.25, 0.5]     # adversarial training lazy within the first half epoch
LATE = [2, 1, 2, 4, 2, 1]                     # standard training lazy after one to four epochs


def test_lazy_epochs_are_the_earliest_switch_within_the_margin_in_fractions_of_an_epoch():
    search = planted_search(EARLY, 0.9)
    assert ev.lazy_epochs(SWITCH, search, np.full(SEEDS, 0.9)).tolist() == EARLY
    assert ev.within_margin([[0.90, 0.93, np.nan]], [0.91]).tolist() == [[True, False, False]]
    # Lazy *from* a switch on: a match at 0 followed by a miss at 0.25 does not make epoch 0 lazy.
    twice = ev.lazy_epochs([0, 0.25, 0.5], [[0.95, 0.80, 0.96], [0.95, np.nan, 0.96]], [0.96, 0.96])
    assert twice.tolist() == [0.5, 0.5]
    assert ev.lazy_epochs([0, 0.25, 0.5], [[0.95, 0.96, 0.80]], [0.96]).tolist() == [np.inf]
    never = ev.lazy_epochs(SWITCH, planted_search(np.inf, 0.9), np.full(SEEDS, 0.9))
    assert np.isinf(never).all()
    with pytest.raises(ValueError, match="switch_epochs has 2"):
        ev.lazy_epochs([0, 1], search, np.full(SEEDS, 0.9))


def test_each_linearisation_verdict_reaches_every_state_in_its_own_accuracy():
    # Adversarial training lazy earlier in clean accuracy, later in robust accuracy: the two verdicts disagree.
    clean, robust = linearisation(LATE, EARLY, EARLY, LATE)
    assert (clean.decision, robust.decision) == (SUP, NOT)
    assert clean.n == robust.n == SEEDS and f"n = {SEEDS} seeds" in clean.definition
    assert clean.details["standard"] == LATE and clean.details["adversarial"] == EARLY
    assert clean.estimate == pytest.approx(np.mean(np.subtract(LATE, EARLY)))
    clean, robust = linearisation(EARLY, LATE, LATE, EARLY)
    assert (clean.decision, robust.decision) == (NOT, SUP)
    # Differences of both signs across seeds: the interval straddles 0.
    mixed = [0.25, 2, 0.5, 1, 0.25, 4]
    clean, _ = linearisation(mixed, LATE, EARLY, LATE)
    assert clean.decision == UND and clean.reason == ev.Reason.STRADDLES
    # Standard training's robust accuracy at the floor: every linearised run is "within the margin".
    _, robust = linearisation(LATE, EARLY, EARLY, LATE, full=(0.96, 0.92, 0.01, 0.70))
    assert robust.decision == UND and robust.reason.startswith(ev.Reason.SATURATED)
    assert "standard training's robust accuracy at or below 0.02" in robust.reason
    # Neither mode ever lazy on the grid: nothing to compare.
    clean, _ = linearisation(np.inf, np.inf, EARLY, LATE)
    assert clean.decision == UND and "no run within the margin" in clean.reason
    # One seed: no interval over seeds.
    clean, _ = linearisation(LATE[0], EARLY[0], EARLY[0], LATE[0], seeds=1)
    assert clean.decision == UND and clean.reason.startswith(ev.Reason.TOO_FEW)


def test_a_planted_null_of_two_identical_training_modes_supports_nothing():
    # The "adversarial" run is the standard run itself (e.g. PGD at eps = 0): every array is the same.
    rng = np.random.default_rng(2)
    search = {"clean": planted_search(LATE, 0.96, rng=rng), "robust": planted_search(EARLY, 0.2, rng=rng)}
    full = {"clean": np.full(SEEDS, 0.96), "robust": np.full(SEEDS, 0.2)}
    velocity, topk = rng.uniform(0.01, 0.1, (SEEDS, 7)), rng.uniform(0.5, 0.9, (SEEDS, 8))
    verdicts = claims.claim7(switch_epochs=SWITCH, linearised_standard=search, full_standard=full,
                             linearised_adversarial=search, full_adversarial=full, velocity_standard=velocity,
                             velocity_adversarial=velocity, topk_standard=topk, topk_adversarial=topk, transient=1,
                             k=10)
    assert len(verdicts) == 4
    assert all(v.decision == UND and v.reason.startswith(ev.Reason.TIE) for v in verdicts), [v.reason for v in verdicts]


def test_two_modes_drawn_from_one_distribution_rarely_support_the_claim():
    # Independent seeds of the same process for both modes: each verdict may say "supported" only at
    # about the 2.5% rate of a one-sided error of a 95% interval, never systematically.
    rng = np.random.default_rng(3)
    supported = np.zeros(4)
    trials = 200
    for _ in range(trials):
        lazy = lambda: rng.choice(SWITCH[1:], SEEDS)  # noqa: E731
        full = {"clean": np.full(SEEDS, 0.95), "robust": np.full(SEEDS, 0.3)}
        verdicts = claims.claim7(
            switch_epochs=SWITCH, full_standard=full, full_adversarial=full,
            linearised_standard={"clean": planted_search(lazy(), 0.95, rng=rng),
                                 "robust": planted_search(lazy(), 0.3, rng=rng)},
            linearised_adversarial={"clean": planted_search(lazy(), 0.95, rng=rng),
                                    "robust": planted_search(lazy(), 0.3, rng=rng)},
            velocity_standard=rng.gamma(2, 0.02, (SEEDS, 7)), velocity_adversarial=rng.gamma(2, 0.02, (SEEDS, 7)),
            topk_standard=rng.beta(8, 2, (SEEDS, 8)), topk_adversarial=rng.beta(8, 2, (SEEDS, 8)), transient=1)
        supported += [v.decision == SUP for v in verdicts]
    assert (supported / trials <= 0.07).all(), supported / trials


def test_velocity_and_mass_verdicts_reach_every_state():
    rng = np.random.default_rng(4)
    fast, slow = 0.05 + 0.005 * rng.normal(size=(SEEDS, 7)), 0.02 + 0.005 * rng.normal(size=(SEEDS, 7))
    low, high = 0.6 + 0.02 * rng.normal(size=(SEEDS, 8)), 0.8 + 0.02 * rng.normal(size=(SEEDS, 8))
    velocity, mass = claims.claim7(velocity_standard=fast, velocity_adversarial=slow, topk_standard=low,
                                   topk_adversarial=high, transient=1, k=10)
    assert (velocity.decision, mass.decision) == (SUP, SUP) and velocity.n == mass.n == SEEDS
    velocity, mass = claims.claim7(velocity_standard=slow, velocity_adversarial=fast, topk_standard=high,
                                   topk_adversarial=low, transient=1)
    assert (velocity.decision, mass.decision) == (NOT, NOT)
    # Per-seed differences of both signs: undetermined.
    signs = np.array([1, -1, 1, -1, 1, -1])[:, None]
    velocity, mass = claims.claim7(velocity_standard=slow + 0.03 * signs, velocity_adversarial=slow,
                                   topk_standard=low, topk_adversarial=low + 0.1 * signs, transient=1)
    assert (velocity.reason, mass.reason) == (ev.Reason.STRADDLES, ev.Reason.STRADDLES)
    (mass,) = claims.claim7(topk_standard=np.ones((SEEDS, 8)), topk_adversarial=np.ones((SEEDS, 8)), transient=1)
    assert mass.decision == UND and mass.reason.startswith(ev.Reason.SATURATED)


def test_the_two_modes_must_be_judged_in_the_same_accuracies():
    search, full = planted_search(EARLY, 0.9), np.full(SEEDS, 0.9)
    with pytest.raises(ValueError, match="same accuracies"):
        claims.claim7(switch_epochs=SWITCH, linearised_standard={"clean": search}, full_standard={"clean": full},
                      linearised_adversarial={"robust": search}, full_adversarial={"robust": full})
    with pytest.raises(ValueError, match="linearised_standard must be a dict"):
        claims.claim7(switch_epochs=SWITCH, linearised_standard=search, full_standard=full,
                      linearised_adversarial=search, full_adversarial=full)
