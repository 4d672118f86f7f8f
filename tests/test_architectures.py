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


@pytest.mark.parametrize("name,depth,width,n_weighted", [("cnn", 1, 0.25, 3), ("cnn", 2, 0.25, 5), ("mlp", 2, 8, 3)])
def test_practical_networks_share_the_registry_and_build(name, depth, width, n_weighted):
    init_fn, apply_fn, kernel_fn = architectures.build(name, depth, width=width, out_dim=4)
    _, params = init_fn(jax.random.PRNGKey(0), X.shape)
    assert apply_fn(params, X).shape == (3, 4)
    assert sum(1 for p in params if p) == n_weighted  # depth × convs_per_stage (2) convs + Dense, or MLP layers
    assert name in architectures.NETWORKS and name not in architectures.ARCHITECTURES


def test_cnn_has_no_analytic_kernel_and_check_keeps_the_registries_apart():
    _, _, kernel_fn = architectures.build("cnn", 1, width=0.25)
    with pytest.raises(NotImplementedError, match="empirical NTK"):
        kernel_fn(X, X, "ntk")
    assert architectures.check("cnn", 3, allowed=architectures.PRACTICAL) == ("cnn", 3)
    with pytest.raises(ValueError, match="network = 'fc'"):
        architectures.check("fc", 1, name_param="network", allowed=architectures.PRACTICAL)


def test_default_depth_is_the_networks_own():
    _, params = architectures.build("cnn", width=0.125)[0](jax.random.PRNGKey(0), (1, 8, 8, 1))
    assert sum(1 for p in params if p) == 7  # the authors' 6 convolutions and the Dense layer
