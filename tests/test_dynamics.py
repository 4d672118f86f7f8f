"""Kernel-trajectory metrics on matrices whose answers are known by hand."""

import numpy as np
import pytest

from ntkcompanion import dynamics

from _tolerances import assert_close


def random_psd(n, seed, rank=None):
    a = np.random.default_rng(seed).normal(size=(n, rank or n))
    return a @ a.T


def test_identical_kernels_have_distance_zero():
    k = random_psd(6, 0)
    assert_close(dynamics.distance(k, k), 0.0)
    assert_close(dynamics.similarity(k, k), 1.0)


def test_rescaled_kernel_has_distance_zero():
    k = random_psd(6, 1)
    assert_close(dynamics.distance(k, 3.7 * k), 0.0)


def test_orthogonal_kernels_have_distance_one():
    # Disjoint supports: Tr(K1 K2ᵀ) = 0.
    k1 = np.diag([1.0, 2.0, 0.0, 0.0])
    k2 = np.diag([0.0, 0.0, 3.0, 1.0])
    assert_close(dynamics.distance(k1, k2), 1.0)


def test_similarity_by_hand():
    k1, k2 = np.eye(2), np.diag([1.0, 0.0])
    assert_close(dynamics.similarity(k1, k2), 1 / np.sqrt(2))


def test_logit_kept_kernel_is_flattened_by_image_then_logit():
    n, c = 3, 2
    k = np.random.default_rng(2).normal(size=(n, n, c, c))
    m = dynamics.as_matrix(k)
    assert m.shape == (n * c, n * c)
    assert m[1 * c + 0, 2 * c + 1] == k[1, 2, 0, 1]


def test_distance_matrix_matches_pairwise_distance():
    ks = [random_psd(5, s) for s in range(4)] + [np.ones((5, 5))]
    d = dynamics.distance_matrix(ks)
    assert d.shape == (5, 5)
    assert_close(d, d.T)
    assert_close(np.diag(d), 0.0)
    for i in range(5):
        for j in range(5):
            assert_close(d[i, j], dynamics.distance(ks[i], ks[j]), scale=10)


def test_velocity_is_distance_per_unit_time():
    k1, k2 = np.diag([1.0, 2.0, 0.0, 0.0]), np.diag([0.0, 0.0, 3.0, 1.0])
    assert_close(dynamics.velocity([k1, k1, k2], [0, 1, 3]), [0.0, 0.5])
    with pytest.raises(ValueError, match="times"):
        dynamics.velocity([k1, k2], [1, 1])


def test_polar_dynamics_endpoints_and_straight_line():
    # K_t = K_0 + t Δ: r_t = t / T exactly.
    k0, delta = random_psd(6, 3), random_psd(6, 4)
    ks = [k0 + t * delta for t in range(5)]
    polar = dynamics.polar_dynamics(ks, top_k=2)
    assert set(polar) == set(dynamics.PARTS)
    for part in dynamics.PARTS:
        assert_close(polar[part]["r"][[0, -1]], [0.0, 1.0])
        assert_close(polar[part]["theta"][0], 0.0, scale=100)
    assert_close(polar["full"]["r"], np.arange(5) / 4)
    # θ_t is the angle to K_0.
    assert_close(polar["full"]["theta"][2], np.arccos(dynamics.similarity(ks[2], k0)), scale=1000)


def test_polar_of_a_rescaled_trajectory_has_zero_angle():
    k0 = random_psd(5, 5)
    polar = dynamics.polar_dynamics([k0, 2 * k0, 4 * k0], top_k=1)
    assert_close(polar["full"]["theta"], 0.0, scale=100)
    assert_close(polar["full"]["r"], [0.0, 1 / 3, 1.0])


def test_top_and_bottom_parts_split_the_kernel():
    k = random_psd(6, 6)
    top = dynamics.top_part(k, 2)
    eigenvalues = np.linalg.eigvalsh(k)
    assert_close(np.linalg.eigvalsh(top)[-2:], eigenvalues[-2:], scale=100)
    assert np.linalg.matrix_rank(top) == 2
    assert_close(np.linalg.eigvalsh(k - top)[-1], eigenvalues[-3], scale=100)


def test_spectral_mass_by_hand():
    k = np.diag([3.0, 1.0, 0.0, 2.0])
    assert_close(dynamics.spectral_mass([k], 1), [9 / 14])
    assert_close(dynamics.spectral_mass([k], 2), [13 / 14])
    assert_close(dynamics.spectral_mass([k], 4), [1.0])
    # Rank-one kernels put all their mass in the top eigenvalue.
    assert_close(dynamics.spectral_mass([random_psd(5, 7, rank=1)], 1), [1.0])


def test_spectral_mass_of_logit_kept_kernels():
    # Θ_ab(x_i, x_j) = A_ij δ_ab: eigenvalues of A, each repeated k times.
    a, c = random_psd(4, 8), 3
    k = np.einsum("ij,ab->ijab", a, np.eye(c))
    lam2 = np.sort(np.linalg.eigvalsh(a))[::-1] ** 2
    assert_close(dynamics.spectral_mass([k], c), [lam2[0] / lam2.sum()], scale=10)


@pytest.mark.parametrize("call, match", [
    (lambda: dynamics.spectral_mass([np.eye(3)], 4), "top_k = 4"),
    (lambda: dynamics.top_part(np.eye(3), 0), "top_k = 0"),
    (lambda: dynamics.as_matrix(np.ones((2, 3))), r"shape \(2, 3\)"),
    (lambda: dynamics.similarity(np.eye(2), np.eye(3)), "equal shapes"),
])
def test_bad_arguments_fail_clearly(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_gram_is_accumulated_in_float64_over_chunks():
    ks = [random_psd(6, s).astype(np.float32) for s in range(3)]
    flat = np.stack([k.astype(np.float64).ravel() for k in ks])
    assert_close(dynamics._frobenius_gram(ks, chunk=7), flat @ flat.T, dtype=np.float32)
    assert_close(dynamics.distance_matrix(ks), dynamics.distance_matrix([k.astype(np.float64) for k in ks]),
                 dtype=np.float32)
    with pytest.raises(ValueError, match="one shape"):
        dynamics.distance_matrix([np.eye(2), np.eye(3)])
