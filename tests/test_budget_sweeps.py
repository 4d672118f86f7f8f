"""Accuracy against the budget, on a linear model whose worst ℓ∞ perturbation is known in closed form.

For :math:`f(x) = \\langle w, x \\rangle` and a point with :math:`y f(x) > 0`, the worst perturbation of
ℓ∞ size ε lowers the margin by exactly :math:`\\epsilon \\|w\\|_1`, so the point stays correct iff
:math:`y f(x) > \\epsilon \\|w\\|_1` (inputs kept away from the [0, 1] clip). FGSM and PGD both reach it.
"""

import jax.numpy as jnp
import numpy as np
import pytest

from ntkcompanion import budget_sweeps

RNG = np.random.default_rng(2)
N = 40
W = RNG.normal(size=(3, 3, 1)).astype(np.float32)
X = RNG.uniform(0.35, 0.65, size=(N, 3, 3, 1)).astype(np.float32)
SCORES = np.einsum("nhwc,hwc->n", X.astype(np.float64), W.astype(np.float64))
Y = np.where(SCORES - np.median(SCORES) + RNG.normal(scale=0.05, size=N) > 0, 1.0, -1.0).astype(np.float32)
EPS = [0.2, 0.0, 0.02, 0.05, 0.1, 0.05]                              # unsorted, with a duplicate


def logits_fn(x):
    return jnp.einsum("nhwc,hwc->n", x, W)


def by_hand(eps):
    """Correct iff the margin survives ε‖w‖₁ (and the point was right to begin with)."""
    return (Y * SCORES > eps * np.abs(W).sum()).astype(np.uint8)


@pytest.fixture(scope="module")
def result():
    return budget_sweeps.sweep(logits_fn, X, Y, EPS, steps=20, step_size=0.05, keep=0.1)


def test_the_grid_is_sorted_and_deduplicated(result):
    assert result.eps.tolist() == [0.0, 0.02, 0.05, 0.1, 0.2]
    assert all(result.correct[k].shape == (5, N) and result.correct[k].dtype == np.uint8 for k in budget_sweeps.KINDS)


def test_fgsm_and_pgd_match_the_worst_case_by_hand(result):
    for i, e in enumerate(result.eps):
        for kind in ("FGSM", "PGD"):
            np.testing.assert_array_equal(result.correct[kind][i], by_hand(e), err_msg=f"{kind} at ε = {e}")
    np.testing.assert_allclose(result.accuracy("FGSM"), [by_hand(e).mean() for e in result.eps])
    acc = result.accuracy("PGD")                                                # the curve really falls
    assert np.all(np.diff(acc) <= 0) and 0 < acc[2] < acc[0] and acc[-1] < acc[2]


def test_noise_never_does_worse_than_the_worst_case(result):
    # for a linear model the signed-gradient corner is the worst point of the ball: noise of the
    # same size can only leave more points correct, point by point
    assert np.all(result.correct["noise"] >= result.correct["FGSM"])
    np.testing.assert_array_equal(result.correct["noise"][0], by_hand(0.0))


def test_kept_images_are_in_the_ball(result):
    for kind in budget_sweeps.KINDS:
        moved = result.adversarial[kind]
        assert moved.shape == X.shape and np.abs(moved - X).max() <= 0.1 + 1e-6


def test_batches_and_scaled_steps():
    whole = budget_sweeps.sweep(logits_fn, X, Y, [0.05, 0.1], steps=20, step_size=0.05, kinds=("PGD",))
    parts = budget_sweeps.sweep(logits_fn, X, Y, [0.05, 0.1], steps=20, step_size=0.05, kinds=("PGD",),
                                batch_size=7)
    np.testing.assert_array_equal(whole.correct["PGD"], parts.correct["PGD"])
    # one PGD step of size s·ε/ε_at = ε/2 moves every pixel by ε/2: the worst case at half the budget
    half = budget_sweeps.sweep(logits_fn, X, Y, [0.1, 0.2], steps=1, step_size=0.05, step_at=0.1, kinds=("PGD",))
    np.testing.assert_array_equal(half.correct["PGD"], np.stack([by_hand(0.05), by_hand(0.1)]))


def test_bad_arguments_are_refused_before_any_attack():
    with pytest.raises(ValueError, match="kinds = "):
        budget_sweeps.sweep(logits_fn, X, Y, [0.1], steps=1, step_size=0.1, kinds=("CW",))
    with pytest.raises(ValueError, match="keep = 0.3"):
        budget_sweeps.sweep(logits_fn, X, Y, [0.1], steps=1, step_size=0.1, keep=0.3)
    with pytest.raises(ValueError, match="architectures names the tasks"):
        budget_sweeps.kernel_sweeps({}, {"3 vs 5": ["fc"]}, [0.1], depth=1, steps=1, step_size=0.1)
