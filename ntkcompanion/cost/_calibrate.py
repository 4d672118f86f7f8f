"""Calibration of the cost model's efficiencies: each kind of kernel timed against the FLOPs the models count.

``python -m ntkcompanion.cost`` (a minute on 2 cores). Each case is one dominant step of a
section, timed against the FLOPs its section model counts, next to a float32 matmul timed in
the same run; the ratio of the two rates is that kind's efficiency (``_model.EFFICIENCY``).
``benchmarks/bench_cost.py`` then checks whole sections against the model.
"""

from __future__ import annotations

import jax
import numpy as np

from ntkcompanion import adversarial_training, architectures, kernels, predictor, training_steps
from ntkcompanion.cost import _memory as m
from ntkcompanion.cost import _s01
from ntkcompanion.cost._devices import matmul_flops, median_seconds

__all__ = ["calibrate", "matmul_flops", "median_seconds"]


def calibrate(repeat: int = 3) -> dict:
    """Measures each kind's efficiency on this machine: one small case per kind of ``_model.EFFICIENCY``.

    Returns:
      ``{"matmul_flops": ..., "ratios": {kind: achieved / matmul rate}}``.
    """
    rng = np.random.default_rng(0)
    shape = (28, 28, 1)
    x = rng.uniform(size=(400,) + shape).astype(np.float32)
    ratios = {}
    rate = matmul_flops(repeat)

    def record(kind, flops, fn, *args):
        ratios[kind] = flops / median_seconds(fn, *args, repeat=repeat) / rate

    # Empirical NTK (Jacobians and contraction) of the analytic architectures' finite nets and the CNN.
    for arch, width, depth in (("fc", 2048, 2), ("conv", 128, 2), ("myrtle", 32, 5)):
        init_fn, apply_fn, _ = architectures.build(arch, depth, width=width)
        _, params = init_fn(jax.random.PRNGKey(0), (1,) + shape)
        record(m.empirical_kind(arch), _s01.empirical_flops(arch, depth, width, shape, n=16, seeds=1, block=16),
               lambda apply_fn=apply_fn, params=params: kernels.empirical_ntk(apply_fn, params, x[:16],
                                                                             batch_size=16))
    for network, width, depth in (("cnn", 0.5, 3), ("mlp", 512, 2)):
        init_fn, apply_fn, _ = architectures.build(network, depth, width=width, out_dim=10)
        _, params = init_fn(jax.random.PRNGKey(0), (1,) + shape)
        n_p = m.trained_params(network, width, depth, shape, 10)
        forward = m.trained_forward_flops(network, width, depth, shape, 10)
        record(m.empirical_kind(network), m.empirical_ntk_flops(forward, n_p, 20, 10, 10),
               lambda apply_fn=apply_fn, params=params: kernels.empirical_ntk(apply_fn, params, x[:20],
                                                                             trace_axes=(), batch_size=10))
        # Training as section 8 runs it: one epoch of SGD steps on batches of 100 through the host loop of
        # ``adversarial_training`` (``3 ×`` forward per image). On a small network the loop's per-step host
        # work and dispatch cost as much as the arithmetic, which a bare jitted step would leave out.
        config = adversarial_training.TrainConfig(network=network, width=width, depth=depth, batch_size=100,
                                                  learning_rate=0.1, epochs=1)
        optimizer, step = training_steps.training_step(apply_fn, config)
        y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, len(x))]
        record(m.train_kind(network), 3.0 * forward * len(x),
               lambda step=step, params=params, state=optimizer.init(params), config=config:
               adversarial_training.sgd_epoch(step, params, state, x, y, config, 1, jax.random.PRNGKey(0))[0])
    # Analytic Gram blocks (stax).
    small = rng.uniform(size=(40, 8, 8, 1)).astype(np.float32)
    for arch, depth, xs, block in (("fc", 2, x, 100), ("conv", 2, x[:100], 100), ("myrtle", 5, small, 8)):
        kernel_fn = architectures.build(arch, depth)[2]
        record(m.analytic_kind(arch), m.kernel_flops(arch, depth, xs.shape[1:], len(xs), len(xs)),
               lambda kernel_fn=kernel_fn, xs=xs, block=block: kernels.kernel_matrix(kernel_fn, xs,
                                                                                      batch_size=block))
    # Attack steps: the input gradient of a fitted predictor, closed-form FC and stax conv.
    for arch, n_train, n_test in (("fc", 1000, 400), ("conv", 100, 20)):
        xt = rng.uniform(size=(n_train,) + shape).astype(np.float32)
        y = np.sign(rng.normal(size=n_train)).astype(np.float32)
        predict_fn = predictor.fit(kernels.kernel_fn(arch, 1), xt, y, ridge=1e-3)
        grad = jax.jit(jax.grad(lambda z, predict_fn=predict_fn: predict_fn(z).sum()))
        record(m.attack_kind(arch), n_test * n_train * m.attack_pair_flops(arch, 1, shape), grad, x[:n_test])
    # Dense linear algebra in float64 on the host: an eigendecomposition and a solve (the models' 3 n³).
    n = 1500
    a = rng.normal(size=(n, n))
    gram = a @ a.T + n * np.eye(n)
    record("linalg", 3.0 * n ** 3, lambda: (np.linalg.eigh(gram), np.linalg.solve(gram, a[:, :10])))
    return {"matmul_flops": rate, "ratios": ratios}
