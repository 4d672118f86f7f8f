"""Feature and eigenspace similarity on cases with a known answer."""

import numpy as np
import pytest

from ntkcompanion import dynamics, features, similarity


def random_psd(rng, n, rank=None):
    a = rng.normal(size=(n, rank or n))
    return a @ a.T


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def test_kernel_similarity_is_fort_et_al(rng):
    k = random_psd(rng, 12)
    assert similarity.kernel_similarity is dynamics.similarity
    assert similarity.kernel_similarity(k, k) == pytest.approx(1.0)
    assert similarity.kernel_similarity(k, 7.5 * k) == pytest.approx(1.0)
    # Orthogonal under the Frobenius inner product: supports on disjoint diagonal blocks.
    a, b = np.zeros((4, 4)), np.zeros((4, 4))
    a[:2, :2], b[2:, 2:] = np.eye(2), np.eye(2)
    assert similarity.kernel_similarity(a, b) == pytest.approx(0.0)


def test_overlap_known_answers(rng):
    a = rng.normal(size=(30, 5))
    assert similarity.subspace_overlap(a, a) == pytest.approx(1.0)
    # Scale and change of basis within the span leave it unchanged.
    assert similarity.subspace_overlap(a, 3e-4 * a @ rng.normal(size=(5, 5))) == pytest.approx(1.0)
    q, _ = np.linalg.qr(rng.normal(size=(30, 10)))
    assert similarity.subspace_overlap(q[:, :5], q[:, 5:]) == pytest.approx(0.0, abs=1e-12)
    # Half of a 2-d span shared: ‖P_A P_B‖²_F / k = 1/2.
    assert similarity.subspace_overlap(q[:, [0, 1]], q[:, [0, 2]]) == pytest.approx(0.5)
    # One principal angle of 60°: cos² = 1/4.
    b = np.cos(np.pi / 3) * q[:, :1] + np.sin(np.pi / 3) * q[:, 1:2]
    np.testing.assert_allclose(similarity.principal_angles(q[:, :1], b), [np.pi / 3])
    assert similarity.subspace_overlap(q[:, :1], b) == pytest.approx(0.25)


def test_overlap_equals_mean_squared_cosine(rng):
    a, b = rng.normal(size=(40, 6)), rng.normal(size=(40, 6))
    theta = similarity.principal_angles(a, b)
    assert np.all(np.diff(theta) >= -1e-12) and np.all((0 <= theta) & (theta <= np.pi / 2))
    assert similarity.subspace_overlap(a, b) == pytest.approx(np.mean(np.cos(theta) ** 2))


def test_chance_overlap_matches_random_subspaces(rng):
    m, k = 50, 5
    draws = [similarity.subspace_overlap(rng.normal(size=(m, k)), rng.normal(size=(m, k))) for _ in range(400)]
    assert np.mean(draws) == pytest.approx(similarity.chance_overlap(k, m), abs=0.01)
    with pytest.raises(ValueError):
        similarity.chance_overlap(6, 5)


def test_feature_agreement_known_answers(rng):
    phi = rng.normal(size=(20, 7))
    np.testing.assert_allclose(similarity.feature_agreement(phi, phi), 1.0)
    scales = rng.uniform(0.1, 10.0, size=7)
    np.testing.assert_allclose(similarity.feature_agreement(phi, phi * scales), 1.0)
    np.testing.assert_allclose(similarity.feature_agreement(phi, -phi), -1.0)
    q, _ = np.linalg.qr(rng.normal(size=(20, 14)))
    np.testing.assert_allclose(similarity.feature_agreement(q[:, :7], q[:, 7:]), 0.0, atol=1e-12)
    # One-hot features (m, n, k) are compared flattened over classes; the matrix's diagonal is the agreement.
    vec = rng.normal(size=(20, 7, 3))
    np.testing.assert_allclose(similarity.feature_agreement(vec, 2.0 * vec), 1.0)
    matrix = similarity.agreement_matrix(vec, vec[:, ::-1])
    np.testing.assert_allclose(np.diag(matrix[:, ::-1]), 1.0)
    with pytest.raises(ValueError):
        similarity.feature_agreement(phi, phi[:, :3])


def test_eigenfunctions_extend_eigenvectors(rng):
    """On the training set itself ψ_i(X) = Θ(X, X) v_i / λ_i = v_i, and a rescaled kernel has the same features."""
    x = rng.normal(size=(15, 4))
    k = np.exp(-np.sum((x[:, None] - x[None]) ** 2, -1))
    lam, v = features.eigendecomposition(k)
    np.testing.assert_allclose(similarity.eigenfunctions(k, lam, v, 5), v[:, :5], atol=1e-8)
    lam2, v2 = features.eigendecomposition(4.0 * k)
    psi, psi2 = similarity.eigenfunctions(k, lam, v, 5), similarity.eigenfunctions(4.0 * k, lam2, v2, 5)
    assert similarity.subspace_overlap(psi, psi2) == pytest.approx(1.0)
    y = np.sign(rng.normal(size=15))
    phi = features.feature_values(k, features.feature_coefficients(lam, v, y))
    phi2 = features.feature_values(4.0 * k, features.feature_coefficients(lam2, v2, y))
    np.testing.assert_allclose(similarity.feature_agreement(phi[:, :5], phi2[:, :5]), 1.0)
    np.testing.assert_allclose(similarity.overlap_curve(psi, psi2, [1, 3, 5]), 1.0)
    with pytest.raises(ValueError):
        similarity.eigenfunctions(k, lam, v, 16)


# --- baseline kernels and spectra (section 6) ------------------------------------------------------

from ntkcompanion import consistency, kernels  # noqa: E402


def test_average_pool_means_blocks_and_names_the_parameter():
    x = np.arange(2 * 4 * 4 * 1, dtype=np.float32).reshape(2, 4, 4, 1)
    pooled = kernels.average_pool(x, 2)
    assert pooled.shape == (2, 2, 2, 1)
    assert pooled[0, 0, 0, 0] == np.mean([0, 1, 4, 5])
    with pytest.raises(ValueError, match="DOWNSAMPLE"):
        kernels.average_pool(x, 8)


def test_baseline_grams_are_the_textbook_kernels():
    rng = np.random.default_rng(0)
    x = rng.random((6, 3, 3, 1))
    d = x.reshape(6, -1)
    np.testing.assert_allclose(kernels.baseline_gram("linear", x), d @ d.T / 9)
    sq = ((d[:, None] - d[None]) ** 2).sum(-1)
    sigma2 = np.median(sq[np.triu_indices(6, 1)])
    assert np.isclose(kernels.median_bandwidth(x), sigma2)
    np.testing.assert_allclose(kernels.baseline_gram("rbf", x), np.exp(-sq / (2 * sigma2)), atol=1e-12)
    with pytest.raises(ValueError, match="name"):
        kernels.baseline_gram("cosine", x)


def test_baseline_spectra_and_overlaps_on_shared_images():
    rng = np.random.default_rng(1)
    x_train, x_compare = rng.random((12, 4, 4, 1)), rng.random((8, 4, 4, 1))
    spectra = consistency.baseline_spectra(x_train, x_compare)
    assert set(spectra) == {"linear", "rbf", "nngp"}
    psi = similarity.top_eigenfunctions(spectra, 3)
    assert all(v.shape == (8, 3) for v in psi.values())
    matrix = similarity.overlap_matrix(psi)
    np.testing.assert_allclose(np.diag(matrix), 1.0)
    np.testing.assert_allclose(matrix, matrix.T)
    frame = similarity.overlap_frame(psi, [1, 2, 3], among=["linear", "rbf"])
    assert sorted(frame["pair"].unique()) == ["linear / nngp", "linear / rbf"]
    with pytest.raises(ValueError, match="k = 99"):
        similarity.top_eigenfunctions(spectra, 99)
    phi = consistency.feature_values(spectra["linear"], np.sign(rng.normal(size=12)), 4)
    assert phi.shape == (8, 4)
