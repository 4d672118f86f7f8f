"""Claim 4 on planted kernels and profiles: every state, and nulls that must never be "supported".

Planted kernels are built from explicit feature maps on random points, so their top eigenspaces
are known: a *core* map with decaying scales (the shared structure of the images) plus, per kernel,
``s`` times random Fourier features of its own seed (what makes kernels differ).
"""

import numpy as np
import pytest
import scipy.linalg
from scipy import stats

from ntkcompanion import evidence as ev
from ntkcompanion.evidence import claims
from ntkcompanion.evidence import _claims_consistency as cc

SUP, NOT, UND = ev.Decision.SUPPORTED, ev.Decision.NOT_SUPPORTED, ev.Decision.UNDETERMINED
N, M, D, K = 60, 120, 20, 5
FAST = {"n_boot": 100}
POINTS = np.random.default_rng(0).normal(size=(N + M, D))


def kernel(features):
    """``(gram (N, N), rows (M, N))`` of the linear kernel on ``features`` ``(N + M, p)``."""
    g = features @ features.T
    return g[:N, :N], g[N:, :N]


def core(x=POINTS, decay=3.0):
    return x * np.exp(-np.arange(x.shape[1]) / decay)


def perturbed(s, seed, base=None, width=200):
    """``base`` (default the core) plus ``s`` times a seeded random-Fourier-feature map of the points."""
    rng = np.random.default_rng(seed)
    proj, phase = rng.normal(size=(D, width)), rng.uniform(0, 2 * np.pi, width)
    noise = np.cos(POINTS @ proj / 3 + phase) * np.sqrt(2 / width)
    return np.hstack([core() if base is None else base, s * noise])


def run(kernels, ntks=("A", "B"), baselines=("b1", "b2", "b3"), k=K, **kwargs):
    return claims.claim4(kernels, list(ntks), list(baselines), k=k, **FAST, **kwargs)


# --- agreement ---------------------------------------------------------------------------------

def test_agreement_supported_when_ntks_are_nearer_each_other_than_any_baseline():
    kernels = {"A": kernel(perturbed(0.3, 1)), "B": kernel(perturbed(0.3, 2)),
               **{f"b{i}": kernel(perturbed(1.5, 10 + i)) for i in (1, 2, 3)}}
    (verdict,) = run(kernels)
    assert verdict.decision == SUP and verdict.ci[0] > 0
    assert verdict.key == "claim4_agreement" and verdict.details["resample_failures"] == 0
    assert verdict.details["pairs"]["A / B"]["ntk_overlap"] > 0.9


def test_agreement_not_supported_when_one_ntk_is_a_baseline_in_disguise():
    other = core(np.random.default_rng(7).normal(size=(N + M, D)))
    kernels = {"A": kernel(perturbed(0.2, 1, base=perturbed(0.0, 0))), "B": kernel(perturbed(0.3, 2, base=other)),
               **{f"b{i}": kernel(perturbed(0.2 * i, 10 + i)) for i in (1, 2, 3)}}
    (verdict,) = run(kernels)
    assert verdict.decision == NOT and verdict.ci[1] < 0
    assert verdict.details["pairs"]["A / B"]["nearest_baseline"] in ("b1", "b2", "b3")


def test_agreement_undetermined_with_too_few_images():
    kernels = {name: (g[:8, :8], r[:8, :8]) for name, (g, r) in
               {"A": kernel(perturbed(0.3, 1)), "B": kernel(perturbed(0.3, 2)), "b1": kernel(perturbed(1.5, 3))}.items()}
    (verdict,) = run(kernels, baselines=["b1"])
    assert verdict.decision == UND and verdict.reason == ev.Reason.TOO_FEW


@pytest.mark.parametrize("scale", [0.3, 0.8, 1.5])
def test_ntk_vs_itself_plus_noise_is_never_supported(scale):
    # B is the "NTK" A plus noise; the baselines are A plus independent noise of the same size
    # (generic kernels that share A's structure): B is no nearer to A than a generic kernel is.
    # Ten random features per kernel, so the noises are independent (wide maps would all
    # approximate one RBF kernel). The variant with min() in place of the inner max() is fooled here.
    a = perturbed(0.0, 0)
    for seed in range(2):
        kernels = {"A": kernel(a), "B": kernel(perturbed(scale, 100 + seed, base=a, width=10)),
                   **{f"b{i}": kernel(perturbed(scale, 200 + 10 * seed + i, base=a, width=10)) for i in (1, 2, 3)}}
        (verdict,) = run(kernels, seed=seed)
        assert verdict.decision != SUP, (scale, seed, verdict.estimate, verdict.ci)


def test_baseline_kernels_passed_as_architectures_are_never_supported():
    # Linear vs RBF as the two "architectures", compared with the section's baseline set.
    x = POINTS / np.sqrt(D)
    sq = (x ** 2).sum(1)
    dist = sq[:, None] + sq[None, :] - 2 * x @ x.T
    full = {"linear": x @ x.T, "rbf": np.exp(-dist / (2 * np.median(dist[np.triu_indices(N, 1)]))),
            "poly": (1 + x @ x.T) ** 2}
    kernels = {name: (g[:N, :N], g[N:, :N]) for name, g in full.items()}
    (verdict,) = claims.claim4(kernels, ["linear", "rbf"], ["linear", "rbf", "poly"], k=K, **FAST)
    assert verdict.decision == NOT and verdict.estimate < 0


def test_margin_is_symmetric_and_resampling_the_training_set_moves_it():
    kernels = {"A": kernel(perturbed(0.5, 1)), "B": kernel(perturbed(0.8, 2)), "b1": kernel(perturbed(1.0, 3))}
    _, est_ab, boot_ab, _ = cc.separation_margins(kernels, ["A", "B"], ["b1"], K, n_boot=40, seed=3)
    _, est_ba, boot_ba, _ = cc.separation_margins(kernels, ["B", "A"], ["b1"], K, n_boot=40, seed=3)
    np.testing.assert_allclose(est_ab, est_ba)
    np.testing.assert_allclose(boot_ab, boot_ba)
    assert np.std(boot_ab) > 0


def test_weighted_resample_spans_what_the_repeated_gram_spans():
    g, rows = kernel(perturbed(0.5, 1))
    draw = np.random.default_rng(4).integers(0, N, N)
    weight = np.bincount(draw, minlength=N).astype(float)
    fast = cc._top_basis(g, rows, K, weight)
    lam, vec = np.linalg.eigh(g[np.ix_(draw, draw)])           # the resample with its repeated images
    direct = rows[:, draw] @ vec[:, ::-1][:, :K]
    cosines = scipy.linalg.subspace_angles(fast, direct)
    np.testing.assert_allclose(np.cos(cosines), 1.0, atol=1e-8)


def test_several_ntk_pairs_take_the_smallest_margin():
    kernels = {"A": kernel(perturbed(0.3, 1)), "B": kernel(perturbed(0.3, 2)), "C": kernel(perturbed(1.5, 5)),
               **{f"b{i}": kernel(perturbed(1.5, 10 + i)) for i in (1, 2, 3)}}
    (verdict,) = run(kernels, ntks=["A", "B", "C"])
    margins = {pair: v["margin"] for pair, v in verdict.details["pairs"].items()}
    assert len(margins) == 3 and verdict.estimate == pytest.approx(min(margins.values()))
    assert verdict.decision != SUP and margins["A / B"] > 0


# --- profiles ---------------------------------------------------------------------------------

INDEX = np.arange(60)
TREND = np.linspace(0.8, 0.0, 60)


def profile_run(profiles, controls=None, index=INDEX):
    kernels = {"A": kernel(perturbed(0.3, 1)), "B": kernel(perturbed(0.3, 2)), "b1": kernel(perturbed(1.5, 3))}
    return claims.claim4(kernels, ["A", "B"], ["b1"], k=K, profiles=profiles, index=index, controls=controls,
                         n_boot=20)[1]


def residual(seed, scale=0.15):
    return np.random.default_rng(seed).normal(0, scale, 60)


def test_profiles_states():
    shared = residual(1)
    verdict = profile_run({"A": TREND + shared + residual(2, 0.03), "B": TREND + shared + residual(3, 0.03)},
                          controls={"rbf": TREND + residual(4)})
    assert verdict.decision == SUP and verdict.key == "claim4_profiles"
    verdict = profile_run({"A": TREND + shared, "B": TREND - shared + residual(5, 0.03)})
    assert verdict.decision == NOT
    verdict = profile_run({"A": TREND, "B": np.zeros(60)})
    assert verdict.decision == UND and verdict.reason == ev.Reason.SATURATED
    verdict = profile_run({"A": TREND[:4], "B": TREND[:4] + 0.01}, index=INDEX[:4])
    assert verdict.decision == UND and verdict.reason == ev.Reason.TOO_FEW


def test_profiles_that_share_only_the_index_trend_are_never_supported():
    for seed in range(5):
        a, b = TREND + residual(10 + seed, 0.1), TREND + residual(20 + seed, 0.1)
        assert ev.rank_correlation(a, b, n_boot=200)[1][0] > 0.5     # the raw ρ would be "supported"
        verdict = profile_run({"A": a, "B": b})
        assert verdict.decision != SUP


def test_what_a_control_kernel_shares_does_not_count():
    # NTKs and the control share the same residual structure: the NTK pair is no more alike than an NTK and RBF.
    shared = residual(1)
    profiles = {"A": TREND + shared + residual(2, 0.03), "B": TREND + shared + residual(3, 0.03)}
    assert profile_run(profiles).decision == SUP
    verdict = profile_run(profiles, controls={"rbf": TREND + shared + residual(4, 0.03)})
    assert verdict.decision != SUP


def test_partial_rank_correlation_matches_the_textbook_formula():
    rng = np.random.default_rng(3)
    a, b, g = rng.normal(size=(3, 50))
    a, b = a + g, b + g
    r_ab, r_ag, r_bg = (stats.spearmanr(u, v).statistic for u, v in ((a, b), (a, g), (b, g)))
    expected = (r_ab - r_ag * r_bg) / np.sqrt((1 - r_ag ** 2) * (1 - r_bg ** 2))
    assert cc.partial_rank_correlation(a, b, g) == pytest.approx(expected)


def test_claim4_rejects_bad_inputs():
    kernels = {"A": kernel(perturbed(0.3, 1)), "b1": kernel(perturbed(1.5, 3))}
    with pytest.raises(ValueError, match="≥ 2 NTKs"):
        claims.claim4(kernels, ["A"], ["b1"], k=K)
    with pytest.raises(ValueError, match="lacks"):
        claims.claim4(kernels, ["A", "B"], ["b1"], k=K)
