r"""The closed-form NTK and NNGP of the FC ReLU network, with a hand-written gradient for attack loops.

:func:`fc_kernel_fn` is ``kernels.kernel_fn("fc", depth)``: the same kernel as neural-tangents'
stax ``kernel_fn`` (tested to float32 precision), built for the attack loop, where the kernel rows
Θ(x, X) and their input gradient are computed at every step. Its own module because the arc-cosine
recursion, its derivatives and the two custom VJPs are one concept, apart from the kernels' blocking,
caching and empirical NTKs in ``kernels``.
"""

import functools

import jax
import jax.numpy as jnp

from ntkcompanion import architectures, validate

__all__ = ["KERNELS", "fc_kernel_fn"]

KERNELS = ("ntk", "nngp")


# Abramowitz & Stegun 4.4.46: arccos(c) = √(1 − c)·P(c) on [0, 1], |error| ≤ 2e-8.
_ACOS = (1.5707963050, -0.2145988016, 0.0889789874, -0.0501743046,
         0.0308918810, -0.0170881256, 0.0066700901, -0.0012624911)


@jax.custom_jvp
def _arccos(c):
    # XLA's CPU atan2/acos are not vectorised (~25 ns per element, 3× the cost of the
    # x·Xᵀ matmul for MNIST-sized inputs); a polynomial in c is.
    a = jnp.abs(c)
    p = _ACOS[-1]
    for coef in _ACOS[-2::-1]:
        p = p * a + coef
    theta = jnp.sqrt(jnp.maximum(1.0 - a, 0.0)) * p
    return jnp.where(c >= 0, theta, jnp.pi - theta)


@_arccos.defjvp
def _arccos_jvp(primals, tangents):
    (c,), (dc,) = primals, tangents
    # Clamped: at c = ±1 (identical directions) the derivative is infinite; keep it finite.
    return _arccos(c), -dc / jnp.sqrt(jnp.maximum(1.0 - c * c, 1e-12))


def _fc_layers(a, b, depth, w2, b2, ntk, derivatives):
    r"""The arc-cosine recursion on ``a`` ``(n, d)`` × ``b`` ``(m, d)``: Θ or K ``(n, m)``, and with
    ``derivatives`` its partial derivatives ``(n, m)`` each with respect to the three inputs of the
    recursion, :math:`K^0(x, x')`, :math:`K^0(x, x)` and :math:`K^0(x', x')`, by forward-mode
    differentiation of each layer (below), so that the backward pass needs nothing else.

    With :math:`\rho = \sqrt{K(x,x) K(x',x')}`, :math:`c = K(x,x')/\rho`, :math:`\kappa_0 = (\pi - \theta)/2\pi`,
    :math:`J = (\sin\theta + (\pi - \theta) c)/2\pi` (so :math:`J' = \kappa_0`, :math:`\kappa_0' = 1/(2\pi\sin\theta)`):

    .. math::
        dc = (dK - c\, d\rho)/\rho, \qquad
        dK^{l+1} = \sigma_w^2 (\kappa_0\, dK + \tfrac{\sin\theta}{2\pi} d\rho), \qquad
        d\Theta^{l+1} = dK^{l+1} + \sigma_w^2 (\kappa_0\, d\Theta + \Theta\, \kappa_0'\, dc),

    and :math:`K^l(x, x)` depends on :math:`K^0(x, x)` only, with slope :math:`(\sigma_w^2/2)^l`.
    As in the plain formula's gradient, :math:`c` is clipped to :math:`[-1, 1]` (no :math:`dc` outside),
    and :math:`\sin\theta \ge 10^{-6}` in :math:`\kappa_0'`: at :math:`c = \pm 1` it is infinite, while
    :math:`dc = 0` in exact arithmetic (the kernel has a kink at :math:`x = x'`).
    """
    d = a.shape[1]
    k12 = w2 / d * (a @ b.T) + b2
    # Squared norms as mat-vecs: XLA's CPU row reductions are ~8× slower than a matvec.
    k11 = w2 / d * ((a * a) @ jnp.ones(d, a.dtype)) + b2
    k22 = w2 / d * ((b * b) @ jnp.ones(d, b.dtype)) + b2
    theta_ntk = k12
    # d(K, Θ)/d(K⁰(x,x'), K⁰(x,x), K⁰(x',x')); None is an exact zero, 1.0 an exact one.
    dk, dt = [1.0, None, None], [1.0, None, None]
    slope = 1.0  # dK^l(x, x)/dK^0(x, x), the same for x'
    for _ in range(depth):
        norm = jnp.sqrt(k11[:, None] * k22[None, :])
        ratio = k12 / norm
        c = jnp.clip(ratio, -1.0, 1.0)
        theta = _arccos(c)
        sin = jnp.sqrt(jnp.maximum(1.0 - c * c, 0.0))
        kappa0 = (jnp.pi - theta) / (2 * jnp.pi)
        k12_next = w2 * (norm * (sin + (jnp.pi - theta) * c) / (2 * jnp.pi)) + b2
        if ntk:
            theta_next = k12_next + w2 * theta_ntk * kappa0
        if derivatives:
            inside = (ratio > -1.0) & (ratio < 1.0)
            # σ_w²·Θ·κ₀'(c)/ρ: what multiplies dK − c·dρ in dΘ.
            if ntk:
                g = jnp.where(inside, w2 * theta_ntk / (2 * jnp.pi * norm
                                                        * jnp.sqrt(jnp.maximum(1.0 - c * c, 1e-12))), 0.0)
            kappa0_in = jnp.where(inside, kappa0, 0.0)
            # dK^{l+1} = σ_w² (J dρ + ρ κ₀ dc) = σ_w² (κ₀ dK + (J − c κ₀) dρ) inside the clip, σ_w² J dρ outside.
            norm_coef = sin / (2 * jnp.pi) + c * (kappa0 - kappa0_in)
            dnorm = [None, norm * (slope / 2) / k11[:, None], norm * (slope / 2) / k22[None, :]]
            new_dk, new_dt = [], []
            for v in range(3):
                terms = [t for t in (None if dk[v] is None else kappa0_in * dk[v],
                                     None if dnorm[v] is None else norm_coef * dnorm[v]) if t is not None]
                new_dk.append(w2 * (terms[0] if len(terms) == 1 else terms[0] + terms[1]))
                if ntk:
                    out = new_dk[-1] if dt[v] is None else new_dk[-1] + w2 * kappa0 * dt[v]
                    dc = (dk[v] if dnorm[v] is None else -c * dnorm[v] if dk[v] is None
                          else dk[v] - c * dnorm[v])
                    new_dt.append(out + g * dc)
            dk, dt = new_dk, new_dt
        k12, k11, k22 = k12_next, w2 * k11 / 2 + b2, w2 * k22 / 2 + b2
        theta_ntk = theta_next if ntk else k12
        slope = slope * w2 / 2
    return (theta_ntk if ntk else k12), (dt if ntk else dk)


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3, 4, 5))
def _fc_rows(a, b, depth, w2, b2, ntk):
    """Θ (``ntk``) or K of ``a`` ``(n, d)`` × ``b`` ``(m, d)``: ``(n, m)``; the gradient is :func:`_fc_rows_bwd`."""
    return _fc_layers(a, b, depth, w2, b2, ntk, False)[0]


def _fc_rows_fwd(a, b, depth, w2, b2, ntk):
    out, partials = _fc_layers(a, b, depth, w2, b2, ntk, True)
    return out, (a, b, partials)


def _fc_rows_bwd(depth, w2, b2, ntk, residuals, ct):
    r"""With :math:`G_0, G_1, G_2` the cotangent times the saved partials (elementwise),
    :math:`\bar a = \tfrac{\sigma_w^2}{d} (G_0 b + 2\, a \odot G_1 \mathbf 1)`, and likewise for :math:`\bar b`:
    three multiplies and two matmuls, nothing recomputed, no row reductions."""
    a, b, (p12, p11, p22) = residuals
    scale = w2 / a.shape[1]
    g12 = ct * p12
    g11 = (ct * p11) @ jnp.ones(ct.shape[1], ct.dtype)
    g22 = jnp.ones(ct.shape[0], ct.dtype) @ (ct * p22)
    grad_a = scale * (g12 @ b + 2 * a * g11[:, None])
    grad_b = scale * (g12.T @ a + 2 * b * g22[:, None])
    return grad_a, grad_b


_fc_rows.defvjp(_fc_rows_fwd, _fc_rows_bwd)


@functools.partial(jax.custom_vjp, nondiff_argnums=(3, 4, 5, 6))
def _fc_weighted_rows(a, b, coef, depth, w2, b2, ntk):
    r""":math:`\Theta(a, b)\, C` for one output, ``coef`` ``(m,)``: ``(n,)``, i.e. ``_fc_rows(...) @ coef``.

    Its backward pass contracts the saved partial derivatives with :math:`C` in the forward pass
    (:math:`Q = \partial\Theta/\partial K^0(x, x') \odot C`, ``(n, m)``, and
    :math:`q = (\partial\Theta/\partial K^0(x, x)) C`, ``(n,)``), so the cotangent ``(n,)`` scales
    rows after the matmul: :math:`\bar a = \tfrac{\sigma_w^2}{d}\, g \odot (Q b + 2 q\, a)`. No
    ``(n, m)`` pass is left in the backward pass. (An attack's loop, where the kernel rows are only
    ever used through :math:`C`.)
    """
    return _fc_layers(a, b, depth, w2, b2, ntk, False)[0] @ coef


def _fc_weighted_rows_fwd(a, b, coef, depth, w2, b2, ntk):
    out, (p12, p11, p22) = _fc_layers(a, b, depth, w2, b2, ntk, True)
    return out @ coef, (a, b, coef, out, p12 * coef, p11 @ coef, p22 * coef)


def _fc_weighted_rows_bwd(depth, w2, b2, ntk, residuals, g):
    a, b, coef, out, q12, q11, q22 = residuals
    scale = w2 / a.shape[1]
    grad_a = scale * g[:, None] * (q12 @ b + 2 * q11[:, None] * a)
    grad_b = scale * ((q12 * g[:, None]).T @ a + 2 * (g @ q22)[:, None] * b)
    return grad_a, grad_b, g @ out


_fc_weighted_rows.defvjp(_fc_weighted_rows_fwd, _fc_weighted_rows_bwd)


@functools.lru_cache(maxsize=None)
def fc_kernel_fn(depth: int = 1, *, W_std: float = architectures.W_STD, b_std: float = architectures.B_STD):
    r"""Closed-form NTK/NNGP of ``architectures.fc(depth)``, built for speed in the attack loop.

    The same kernel as the stax ``kernel_fn`` (tested to float32 precision), by the ReLU
    arc-cosine recursion (Cho & Saul 2009; Jacot et al. 2018), with
    :math:`c = K(x, x')/\sqrt{K(x, x) K(x', x')}` and :math:`\theta = \arccos c`:

    .. math::
        K^{0} = \Theta^{0} = \sigma_w^2\, x \cdot x' / d + \sigma_b^2, \qquad
        K^{l+1} = \sigma_w^2 \sqrt{K(x,x) K(x',x')}\, \frac{\sin\theta + (\pi - \theta)\cos\theta}{2\pi} + \sigma_b^2,

    .. math::
        \Theta^{l+1} = K^{l+1} + \sigma_w^2\, \Theta^{l}\, \frac{\pi - \theta}{2\pi}.

    It costs one ``x·x'ᵀ`` matmul plus vectorised elementwise work per pair, whereas
    stax's ``arctan2`` is not vectorised on CPU: about 3× faster for the kernel rows
    and their gradient, which is what every attack step computes. The gradient is a custom
    VJP: the forward pass keeps :math:`\partial\Theta/\partial K^0` per pair (``_fc_layers``),
    the backward pass multiplies them by the cotangent and does two matmuls
    (``_fc_rows_bwd``), with nothing recomputed (reverse mode only: ``jax.jvp`` does not apply).
    ``kernel_fn.weighted_rows(x1, x2, coef, get)`` is ``kernel_fn(x1, x2, get) @ coef`` for
    ``coef`` ``(n2,)``, with a cheaper backward pass (``_fc_weighted_rows``).

    Args:
      depth: hidden Dense + Relu layers (≥ 1).
      W_std: :math:`\sigma_w`.
      b_std: :math:`\sigma_b`.

    Returns:
      ``kernel_fn(x1, x2=None, get="ntk")``: ``(n1, ...)``, ``(n2, ...)`` → ``(n1, n2)``;
      ``get`` is ``"ntk"`` or ``"nngp"``.
    """
    validate.positive_int("depth", depth)
    w2, b2 = float(W_std) ** 2, float(b_std) ** 2

    def kernel_fn(x1, x2=None, get="ntk"):
        validate.one_of("get", get, KERNELS)
        x2 = x1 if x2 is None else x2
        a, b = x1.reshape(x1.shape[0], -1), x2.reshape(x2.shape[0], -1)
        return _fc_rows(a, b, depth, w2, b2, get == "ntk")

    def weighted_rows(x1, x2, coef, get="ntk"):
        # Θ(x1, x2)·coef for coef (n2,): what an attack's loop computes (ntkcompanion._kernel_plan).
        a, b = x1.reshape(x1.shape[0], -1), x2.reshape(x2.shape[0], -1)
        return _fc_weighted_rows(a, b, coef, depth, w2, b2, get == "ntk")

    kernel_fn.weighted_rows = weighted_rows
    return kernel_fn
