"""Kernels: blocked Gram matrices, a closed form, and the wide-network limit."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from _tolerances import assert_close
from ntkcompanion import architectures, cache, kernels

RNG = np.random.default_rng(0)
X = RNG.uniform(size=(13, 6, 6, 1)).astype(np.float32)
Z = RNG.uniform(size=(7, 6, 6, 1)).astype(np.float32)
X_TRAIN = RNG.uniform(size=(37, 6, 6, 1)).astype(np.float32)  # 37: blocks of 8 need padding
X_TEST = RNG.uniform(size=(9, 6, 6, 1)).astype(np.float32)


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


@pytest.mark.parametrize("trace_axes", [(), (-1,)])
@pytest.mark.parametrize("symmetric", [True, False])
def test_empirical_ntk_with_jacobians_once_equals_neural_tangents_blockwise(trace_axes, symmetric):
    init_fn, apply_fn, _ = architectures.build("cnn", 2, width=0.25, out_dim=3)
    _, params = init_fn(jax.random.PRNGKey(0), X.shape)
    x2 = None if symmetric else Z[:5]
    once = kernels.empirical_ntk(apply_fn, params, X[:7], x2, trace_axes=trace_axes, batch_size=3)
    blockwise = kernels.empirical_ntk(apply_fn, params, X[:7], x2, trace_axes=trace_axes, batch_size=3,
                                      jacobian_budget=0)
    assert once.shape == blockwise.shape == ((7, 7 if symmetric else 5) + ((3, 3) if trace_axes == () else ()))
    np.testing.assert_allclose(once, blockwise, rtol=2e-4, atol=1e-5 * np.abs(blockwise).max())


@pytest.mark.parametrize("get", ["ntk", ("ntk", "nngp")])
def test_symmetric_gram_by_strips_equals_the_full_blocks(get):
    _, _, kernel_fn = architectures.build("conv", 1)
    strips = kernels.kernel_matrix(kernel_fn, X[:11], get=get, batch_size=4)
    full = kernels.kernel_matrix(kernel_fn, X[:11], X[:11], get=get, batch_size=4)
    for s, f in [(strips, full)] if get == "ntk" else list(zip(strips, full)):
        np.testing.assert_allclose(s, f, rtol=1e-5, atol=1e-7)
        np.testing.assert_array_equal(s, s.T)


def test_bad_kernel_arguments():
    _, _, kernel_fn = architectures.build("fc", 1)
    with pytest.raises(ValueError, match="get = 'ntkk'"):
        kernels.kernel_matrix(kernel_fn, X, get="ntkk")
    with pytest.raises(ValueError, match="batch_size = 0"):
        kernels.kernel_matrix(kernel_fn, X, batch_size=0)


@pytest.mark.parametrize("depth", [1, 2, 3])
@pytest.mark.parametrize("get", ["ntk", "nngp"])
def test_fc_kernel_fn_equals_stax(depth, get):
    _, _, kernel_fn = architectures.build("fc", depth)
    fast_fn = kernels.fc_kernel_fn(depth)
    assert_close(fast_fn(X_TEST, X_TRAIN, get), kernel_fn(X_TEST, X_TRAIN, get), scale=0.1)
    # nt.batch (kernels.kernel_matrix) accepts it like a stax kernel_fn. On the diagonal
    # c ≈ 1, where arccos(c) ~ √(2(1 − c)) turns float32 rounding of c into ~√ulp errors
    # in both implementations.
    assert_close(kernels.kernel_matrix(fast_fn, X_TRAIN, get=get, batch_size=8),
                 kernels.kernel_matrix(kernel_fn, X_TRAIN, get=get, batch_size=8), dtype=np.float32,
                 scale=5)
    grads = [jax.grad(lambda x: jnp.sum(fn(x, X_TRAIN, get) ** 2))(X_TEST) for fn in (fast_fn, kernel_fn)]
    assert_close(grads[0], grads[1], scale=0.1)


def test_fc_kernel_fn_gradient_is_finite_at_the_training_points():
    # c = 1 on the diagonal: arccos has an infinite derivative there, the kernel does not.
    grad = jax.grad(lambda x: kernels.fc_kernel_fn(2)(x, X_TRAIN).sum())(X_TRAIN)
    assert np.all(np.isfinite(grad))


def plain_fc_kernel(depth, w2=architectures.W_STD ** 2, b2=architectures.B_STD ** 2):
    """The arc-cosine recursion written plainly (jnp.arccos, row sums), differentiated by jax.grad."""
    def kernel(x1, x2, get):
        a, b = x1.reshape(len(x1), -1), x2.reshape(len(x2), -1)
        d = a.shape[1]
        k12, k11, k22 = w2 / d * a @ b.T + b2, w2 / d * jnp.sum(a * a, 1) + b2, w2 / d * jnp.sum(b * b, 1) + b2
        ntk = k12
        for _ in range(depth):
            norm = jnp.sqrt(k11[:, None] * k22[None, :])
            theta = jnp.arccos(jnp.clip(k12 / norm, -1, 1))
            k12_next = w2 * norm * (jnp.sin(theta) + (jnp.pi - theta) * jnp.cos(theta)) / (2 * jnp.pi) + b2
            ntk = k12_next + w2 * ntk * (jnp.pi - theta) / (2 * jnp.pi)
            k12, k11, k22 = k12_next, w2 * k11 / 2 + b2, w2 * k22 / 2 + b2
        return ntk if get == "ntk" else k12
    return kernel


def _input_gradients(kernel, x1, x2, get):
    coef = jnp.asarray(np.random.default_rng(1).normal(size=(len(x2), 2)), x1.dtype)
    loss = lambda x1, x2: jnp.sum(jnp.sin(kernel(x1, x2, get) @ coef))  # noqa: E731  (a non-uniform cotangent)
    return jax.grad(loss, argnums=(0, 1))(x1, x2)


@pytest.mark.parametrize("x64", [False, True], ids=["float32", "float64"])
@pytest.mark.parametrize("depth", [1, 2, 3])
@pytest.mark.parametrize("get", ["ntk", "nngp"])
def test_fc_kernel_fn_gradient_equals_the_plain_formulas(depth, get, x64):
    # fc_kernel_fn's hand-written backward pass (saved partial derivatives) against jax.grad of
    # the plain recursion, for both arguments, jitted or not; at float64 its A&S arccos (|error|
    # ≤ 2e-8) bounds the agreement.
    with jax.experimental.enable_x64(x64):
        dtype = jnp.float64 if x64 else jnp.float32
        x1, x2 = jnp.asarray(X_TEST, dtype), jnp.asarray(X_TRAIN, dtype)
        fast, plain = kernels.fc_kernel_fn(depth), plain_fc_kernel(depth)
        expected = _input_gradients(plain, x1, x2, get)
        rtol = 1e-6 if x64 else 2e-5
        for got in (_input_gradients(fast, x1, x2, get), jax.jit(_input_gradients, static_argnums=(0, 3))(
                fast, x1, x2, get)):
            for g, e in zip(got, expected):
                assert g.dtype == dtype
                np.testing.assert_allclose(g, e, rtol=rtol, atol=rtol * float(jnp.max(jnp.abs(e))))


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_fc_kernel_fn_gradient_near_identical_directions(depth):
    # c → 1, where dκ₀/dc = 1/(2π sin θ) diverges; float64, since in float32 c's rounding
    # dominates both the plain formula's gradient and this one near c = 1.
    with jax.experimental.enable_x64(True):
        x2 = jnp.asarray(X_TRAIN[:9], jnp.float64)
        x1 = x2 + 1e-3 * jnp.asarray(np.random.default_rng(2).normal(size=x2.shape))
        fast, plain = kernels.fc_kernel_fn(depth), plain_fc_kernel(depth)
        a, b = x1.reshape(9, -1), x2.reshape(9, -1)
        cosine = jnp.sum(a * b, 1) / jnp.sqrt(jnp.sum(a * a, 1) * jnp.sum(b * b, 1))
        assert float(jnp.max(1 - cosine)) < 1e-5  # the diagonal pairs are that close to c = 1
        for got, expected in zip(_input_gradients(fast, x1, x2, "ntk"), _input_gradients(plain, x1, x2, "ntk")):
            np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4 * float(jnp.max(jnp.abs(expected))))


def test_kernel_fn_is_the_closed_form_for_fc_and_stax_otherwise():
    assert kernels.kernel_fn("fc", 2) is kernels.fc_kernel_fn(2)
    assert kernels.kernel_fn("fc", 2) is kernels.kernel_fn("fc", 2)  # one object: compilations are reused
    stax_fc = kernels.kernel_fn("fc", 2, fast=False)
    assert stax_fc is not kernels.fc_kernel_fn(2)
    assert_close(kernels.kernel_fn("fc", 2)(X, Z), stax_fc(X, Z, "ntk"), scale=0.1)
    _, _, conv = architectures.build("conv", 1)
    np.testing.assert_allclose(kernels.kernel_fn("conv", 1)(X, Z, "ntk"), conv(X, Z, "ntk"), rtol=1e-6)
    with pytest.raises(ValueError, match="architecture = 'cnn' is not allowed"):
        kernels.kernel_fn("cnn", 1)


@pytest.fixture
def counted(monkeypatch, tmp_path):
    """An empty cache, and a count of the Gram matrices actually computed."""
    monkeypatch.setenv("NTKCOMPANION_CACHE_DIR", str(tmp_path))
    calls = []
    real = kernels.kernel_matrix

    def counting(*args, **kwargs):
        calls.append(kwargs.get("get"))
        return real(*args, **kwargs)

    monkeypatch.setattr(kernels, "kernel_matrix", counting)
    return calls


def test_gram_is_computed_once_then_read_from_the_cache(counted):
    _, _, kernel_fn = architectures.build("fc", 2)
    first = kernels.gram(X, architecture="fc", depth=2)
    assert len(counted) == 1
    np.testing.assert_array_equal(first, kernels.kernel_matrix(kernel_fn, X))
    again = kernels.gram(X, architecture="fc", depth=2, batch_size=4)  # the block size is not in the key
    assert len(counted) == 2  # only the direct kernel_matrix call above
    np.testing.assert_array_equal(again, first)
    assert again.dtype == np.float64 and again.shape == (13, 13)


@pytest.mark.parametrize("change", [
    dict(x1=Z), dict(x2=Z), dict(depth=3), dict(architecture="conv", depth=1), dict(kind="nngp"),
    dict(b_std=0.2),
])
def test_gram_recomputes_when_anything_that_determines_it_changes(counted, change):
    base = dict(x1=X, x2=None, architecture="fc", depth=2, kind="ntk")
    kernels.gram(**base)
    kernels.gram(**(base | change))
    assert len(counted) == 2


def test_gram_tuple_kinds_and_no_cache(counted, tmp_path):
    ntk, nngp = kernels.gram(X, Z, architecture="fc", depth=1, kind=("ntk", "nngp"))
    _, _, kernel_fn = architectures.build("fc", 1)
    np.testing.assert_array_equal(nngp, kernels.kernel_matrix(kernel_fn, X, Z, get="nngp"))
    assert ntk.shape == (13, 7)
    kernels.gram(X, Z, architecture="fc", depth=1, kind="ntk", cache=False)
    kernels.gram(X, Z, architecture="fc", depth=1, kind="ntk", cache=False)
    assert counted.count(("ntk",)) == 2  # cache=False never reads or writes
    with pytest.raises(ValueError, match="kind = 'ntk2' is not allowed"):
        kernels.gram(X, architecture="fc", depth=1, kind="ntk2")
