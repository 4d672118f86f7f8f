"""The label check: the two conventions pass unchanged, anything else stops naming the parameter."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ntkcompanion import labels


def test_both_conventions_pass_unchanged():
    y = np.array([1.0, -1.0, 1.0])
    assert labels.check(y, 3) is y
    onehot = np.eye(4)[[0, 3, 1]]
    assert labels.check(onehot, 3) is onehot


@pytest.mark.parametrize("y, n", [(np.ones(4), 3), (np.ones((2, 5)), 3), (np.ones((3, 2, 2)), 3), (np.float64(1), 1)])
def test_wrong_shapes_name_the_parameter_the_shape_and_the_allowed_shapes(y, n):
    with pytest.raises(ValueError) as error:
        labels.check(y, n, name="y_train", per="training point")
    message = str(error.value)
    assert message.startswith(f"y_train has shape {tuple(np.shape(y))}")
    assert f"({n},) ±1 labels or ({n}, k) one-hot" in message and "one per training point" in message


def test_it_reads_only_the_shape_so_it_works_inside_jit():
    @jax.jit
    def f(y):
        return labels.check(y, 5) * 2

    np.testing.assert_array_equal(f(jnp.ones(5)), 2 * np.ones(5))
    with pytest.raises(ValueError, match="y has shape"):
        f(jnp.ones(4))
