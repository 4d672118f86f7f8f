"""The architecture registry: shapes, depths, validation."""

import jax
import numpy as np
import pytest

from ntkcompanion import architectures

X = np.random.default_rng(0).uniform(size=(3, 8, 8, 1)).astype(np.float32)


@pytest.mark.parametrize("name,depth", [("fc", 1), ("fc", 3), ("conv", 2), ("myrtle", 5), ("myrtle", 7)])
def test_builds_network_and_kernel(name, depth):
    init_fn, apply_fn, kernel_fn = architectures.build(name, depth, width=4, out_dim=3)
    _, params = init_fn(jax.random.PRNGKey(0), X.shape)
    assert apply_fn(params, X).shape == (3, 3)
    k = kernel_fn(X, X, "ntk")
    assert k.shape == (3, 3)
    assert np.all(np.linalg.eigvalsh(np.asarray(k, np.float64)) > -1e-4)


def test_depth_counts_hidden_layers():
    def n_dense(depth):
        _, params = architectures.build("fc", depth, width=4)[0](jax.random.PRNGKey(0), X.shape)
        return sum(1 for p in params if p)
    assert [n_dense(d) for d in (1, 2, 4)] == [2, 3, 5]


def test_myrtle_layer_counts():
    _, params = architectures.build("myrtle", 10, width=2)[0](jax.random.PRNGKey(0), (1, 8, 8, 1))
    assert sum(1 for p in params if p) == sum(architectures.MYRTLE_LAYERS[10]) + 1


@pytest.mark.parametrize("name,depth,message", [
    ("resnet", 1, "architecture = 'resnet'"),
    ("fc", 0, "depth = 0"),
    ("conv", -1, "depth = -1"),
    ("myrtle", 6, "depth = 6"),
])
def test_bad_architecture_fails_clearly(name, depth, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        architectures.build(name, depth)


def test_check_uses_the_callers_names():
    with pytest.raises(ValueError, match=r"ARCHITECTURES\[1\] = 'mlp'.*'fc', 'conv', 'myrtle'"):
        architectures.check("mlp", 1, name_param="ARCHITECTURES[1]", depth_param="DEPTH")
