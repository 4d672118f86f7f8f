"""Calibration of the cost model's efficiencies: each kind of kernel timed against the FLOPs the models count.

``python -m ntkcompanion.cost`` (a minute on 2 cores). Each case is one dominant step of a
section, timed against the FLOPs its section model counts, next to a float32 matmul timed in
the same run; the ratio of the two rates is that kind's efficiency (``_model.EFFICIENCY``).
``benchmarks/bench_cost.py`` then checks whole sections against the model.
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np

from ntkcompanion import architectures, kernels, predictor
from ntkcompanion.cost import _memory as m
from ntkcompanion.cost import _s01

__all__ = ["calibrate", "matmul_flops", "median_seconds"]


def median_seconds(fn, *args, repeat=3):
    """Median wall time of ``fn(*args)`` after one warm-up call (compilation), seconds."""
    jax.block_until_ready(fn(*args))
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        jax.block_until_ready(fn(*args))
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def matmul_flops(repeat: int = 3) -> float:
    """Float32 matmul rate of this machine, ``(2000, 3072) · (3072, 2000)``, FLOP/s."""
    rng = np.random.default_rng(0)
    a = jnp.asarray(rng.uniform(size=(2000, 3072)), jnp.float32)
    b = jnp.asarray(rng.uniform(size=(3072, 2000)), jnp.float32)
    return 2 * 2000 * 3072 * 2000 / median_seconds(jax.jit(lambda a, b: a @ b), a, b, repeat=repeat)


def calibrate(repeat: int = 3) -> dict:
    """Measures each kind's efficiency on this machine.

    Returns:
      ``{"matmul_flops": ..., "ratios": {kind: achieved / matmul rate}}``.
    """
    rng = np.random.default_rng(0)
    shape = (28, 28, 1)
    x = rng.uniform(size=(400,) + shape).astype(np.float32)
    ratios = {}
    rate = matmul_flops(repeat)

    def record(case, flops, fn, *args):
        ratios[case] = flops / median_seconds(fn, *args, repeat=repeat) / rate

    for arch, width in (("fc", 2048), ("conv", 128)):
        init_fn, apply_fn, _ = architectures.build(arch, 2, width=width)
        _, params = init_fn(jax.random.PRNGKey(0), (1,) + shape)
        xs = x[:16]
        record(m.empirical_kind(arch), _s01.empirical_flops(arch, 2, width, shape, n=16, seeds=1),
               lambda: kernels.empirical_ntk(apply_fn, params, xs, batch_size=16))
    for arch, n in (("fc", 400), ("conv", 100)):
        kernel_fn = architectures.build(arch, 2)[2]
        record(m.analytic_kind(arch), m.kernel_flops(arch, 2, shape, n, n),
               lambda: kernels.kernel_matrix(kernel_fn, x[:n], batch_size=100))
    n_train, n_test = 1000, 400
    xt = rng.uniform(size=(n_train,) + shape).astype(np.float32)
    y = np.sign(rng.normal(size=n_train)).astype(np.float32)
    predict_fn = predictor.fit(kernels.kernel_fn("fc", 1), xt, y, ridge=1e-3)
    grad = jax.jit(jax.grad(lambda z: predict_fn(z).sum()))
    record("pgd_fc", n_test * n_train * m.attack_pair_flops("fc", 1, shape), grad, x)
    return {"matmul_flops": rate, "ratios": ratios}
