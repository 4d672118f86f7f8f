"""A small planted eigen-feature problem shared by the feature and feature-attack tests."""

import numpy as np

from ntkcompanion import architectures, features, kernels

RNG = np.random.default_rng(0)
N_TRAIN, N_TEST, K = 23, 11, 3  # 23 features: not a multiple of the feature chunks used below
X_TRAIN = RNG.uniform(size=(N_TRAIN, 6, 6, 1)).astype(np.float32)
X_TEST = RNG.uniform(size=(N_TEST, 6, 6, 1)).astype(np.float32)
Y_BINARY = np.where(RNG.uniform(size=N_TRAIN) < 0.5, -1.0, 1.0)
Y_ONEHOT = np.eye(K)[RNG.integers(K, size=N_TRAIN)]
Y_TEST = {"binary": np.where(RNG.uniform(size=N_TEST) < 0.5, -1.0, 1.0),
          "onehot": np.eye(K)[RNG.integers(K, size=N_TEST)]}
_, _, KERNEL_FN = architectures.build("fc", 1)
K_TRAIN_TRAIN = kernels.kernel_matrix(KERNEL_FN, X_TRAIN)
K_TEST_TRAIN = kernels.kernel_matrix(KERNEL_FN, X_TEST, X_TRAIN)
EIGENVALUES, EIGENVECTORS = features.eigendecomposition(K_TRAIN_TRAIN)


def targets(kind):
    return Y_BINARY if kind == "binary" else Y_ONEHOT
