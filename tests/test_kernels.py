"""Kernels: blocked Gram matrices, a closed form, and the wide-network limit."""

import jax
import numpy as np
import pytest

from ntkcompanion import architectures, kernels

RNG = np.random.default_rng(0)
X = RNG.uniform(size=(13, 6, 6, 1)).astype(np.float32)
Z = RNG.uniform(size=(7, 6, 6, 1)).astype(np.float32)


def relu_ntk_one_hidden_layer(x1, x2, w_std, b_std):
    r"""Closed-form NTK of Flatten→Dense→ReLU→Dense in the NTK parameterisation.

    K₁ = σ_w² x·x'/d + σ_b², Θ₁ = K₁; with θ = arccos(K₁(x,x')/√(K₁(x,x)K₁(x',x'))),
    Θ = σ_w²[Θ₁ (π−θ)/(2π) + √(K₁(x,x)K₁(x',x')) (sin θ + (π−θ) cos θ)/(2π)] + σ_b².
    """
    a = x1.reshape(len(x1), -1).astype(np.float64)
    b = x2.reshape(len(x2), -1).astype(np.float64)
    d = a.shape[1]
    k12 = w_std**2 * a @ b.T / d + b_std**2
    k11 = w_std**2 * np.sum(a * a, 1) / d + b_std**2
    k22 = w_std**2 * np.sum(b * b, 1) / d + b_std**2
    norm = np.sqrt(np.outer(k11, k22))
    theta = np.arccos(np.clip(k12 / norm, -1, 1))
    nngp = norm * (np.sin(theta) + (np.pi - theta) * np.cos(theta)) / (2 * np.pi)
    return w_std**2 * (k12 * (np.pi - theta) / (2 * np.pi) + nngp) + b_std**2


def test_fc_ntk_matches_closed_form():
    _, _, kernel_fn = architectures.build("fc", 1)
    k = kernels.kernel_matrix(kernel_fn, X, Z, batch_size=4)
    expected = relu_ntk_one_hidden_layer(X, Z, np.sqrt(2.0), 0.1)
    np.testing.assert_allclose(k, expected, rtol=1e-4)


@pytest.mark.parametrize("name", ["fc", "conv"])
@pytest.mark.parametrize("get", ["ntk", "nngp"])
def test_blocked_equals_unblocked(name, get):
    _, _, kernel_fn = architectures.build(name, 2)
    # 13 and 7 rows are not multiples of the block: exercises padding and cropping.
    k = kernels.kernel_matrix(kernel_fn, X, Z, get=get, batch_size=4)
    assert k.shape == (13, 7) and k.dtype == np.float64
    np.testing.assert_allclose(k, np.asarray(kernel_fn(X, Z, get)), rtol=2e-4, atol=1e-5)


def test_both_kernels_in_one_pass():
    _, _, kernel_fn = architectures.build("fc", 2)
    nngp, ntk = kernels.kernel_matrix(kernel_fn, X, Z, get=("nngp", "ntk"), batch_size=4)
    np.testing.assert_allclose(ntk, kernels.kernel_matrix(kernel_fn, X, Z, get="ntk"), rtol=1e-5)
    np.testing.assert_allclose(nngp, kernels.kernel_matrix(kernel_fn, X, Z, get="nngp"), rtol=1e-5)
    assert not np.allclose(nngp, ntk)


def test_gram_is_symmetric_positive_semidefinite():
    _, _, kernel_fn = architectures.build("conv", 1)
    k = kernels.kernel_matrix(kernel_fn, X, batch_size=5)
    np.testing.assert_allclose(k, k.T, rtol=1e-5)
    assert np.linalg.eigvalsh(k)[0] > -1e-4 * np.abs(k).max()


@pytest.mark.parametrize("name", ["fc", "conv"])
def test_empirical_ntk_approaches_analytic_with_width(name):
    _, _, kernel_fn = architectures.build(name, 1)
    analytic = kernels.kernel_matrix(kernel_fn, X)

    def error(width):
        init_fn, apply_fn, _ = architectures.build(name, 1, width=width)
        errors = []
        for seed in range(3):
            _, params = init_fn(jax.random.PRNGKey(seed), X.shape)
            empirical = kernels.empirical_ntk(apply_fn, params, X, batch_size=5)
            errors.append(np.linalg.norm(empirical - analytic) / np.linalg.norm(analytic))
        return np.mean(errors)

    narrow, wide = error(8), error(2048)
    assert wide < narrow / 4  # fluctuations shrink like width^(-1/2): 16x wider in sqrt(256)
    assert wide < 0.1


def test_empirical_ntk_keeps_logit_axes():
    init_fn, apply_fn, _ = architectures.build("fc", 1, width=16, out_dim=3)
    _, params = init_fn(jax.random.PRNGKey(0), X.shape)
    full = kernels.empirical_ntk(apply_fn, params, X[:4], Z[:5], trace_axes=(), batch_size=3)
    traced = kernels.empirical_ntk(apply_fn, params, X[:4], Z[:5], batch_size=3)
    assert full.shape == (4, 5, 3, 3)
    # neural-tangents "traces" by averaging over the logit axis.
    np.testing.assert_allclose(np.einsum("ijkk->ij", full) / 3, traced, rtol=1e-4)


def test_bad_kernel_arguments():
    _, _, kernel_fn = architectures.build("fc", 1)
    with pytest.raises(ValueError, match="get = 'ntkk'"):
        kernels.kernel_matrix(kernel_fn, X, get="ntkk")
    with pytest.raises(ValueError, match="batch_size = 0"):
        kernels.kernel_matrix(kernel_fn, X, batch_size=0)
