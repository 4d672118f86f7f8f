r"""Claim 4's experiment: several kernels' eigen-features compared on the same images (section 6).

Every kernel — the NTK of each architecture, and baseline kernels that are not NTKs (linear,
RBF, NNGP) — is decomposed on the same pooled training images :math:`X`
(``decomposition.Decomposition``; its test rows are :math:`K(x, X)` on the :math:`m` comparison
images). Then

* :func:`compare`: the top-:math:`k` eigenfunctions :math:`\psi_i = K(\cdot, X)\, v_i / \lambda_i`
  of every kernel on the comparison images, their pairwise overlaps :math:`O_k` and the
  :math:`O_k`-against-:math:`k` curves (the mathematics is in ``similarity``);
* :func:`robustness_profiles`: robustness :math:`\gamma_i` (PGD) of the same sampled eigen-indices in
  every attacked NTK and in the RBF control (``feature_attacks``), classified by the evidence vocabulary;
* :func:`verdicts`: claim 4 from both (``evidence.claims.claim4``): the Gram matrices, resampled over
  training images, and the profiles;
* :func:`verdict_table`, :func:`margin_table`: the verdicts, and the agreement verdict per NTK pair;
* :func:`agreement`: cosine of features matched by index, first NTK against last;
* :func:`summary`: the section's metrics and glue.

Functions that take ``p`` read the section's parameters from it (``sections.setup``'s result,
or anything with the same upper-case attributes); each docstring names those it reads.
"""

from typing import NamedTuple

import jax.numpy as jnp
import numpy as np

from ntkcompanion import evidence, feature_attacks, features, kernels, similarity
from ntkcompanion.decomposition import Decomposition

__all__ = ["Images", "pooled", "kernel_name", "spectrum", "ntk_spectra", "baseline_spectra", "spectra",
           "feature_values", "Comparison", "compare", "rbf_kernel_fn", "Profiles", "robustness_profiles", "verdicts",
           "verdict_table", "margin_table",
           "agreement", "summary"]

# Points of the O_k-against-k curves (geometric in k).
N_CURVE_POINTS = 10


class Images(NamedTuple):
    """Pooled images shared by every kernel: ``train`` ``(n, h', w', c)``, ``test`` ``(n_test, …)`` and
    ``compare``, the first ``n_compare`` test images ``(m, …)``."""

    train: np.ndarray
    test: np.ndarray
    compare: np.ndarray


def pooled(task, downsample: int, n_compare: int) -> Images:
    """A task's images average-pooled by ``downsample`` (``kernels.average_pool``; error names ``DOWNSAMPLE``)."""
    train, test = (kernels.average_pool(x, downsample) for x in (task.x_train, task.x_test))
    return Images(train, test, test[:n_compare])


def kernel_name(architecture: str, depth: int) -> str:
    """The key of an NTK in :func:`ntk_spectra`: ``"<architecture>-<depth>"`` (``"fc-1"``)."""
    return f"{architecture}-{depth}"


def spectrum(gram, rows, *, rcond: float = features.RCOND) -> Decomposition:
    """The :class:`~ntkcompanion.decomposition.Decomposition` of a kernel from its Gram matrix ``(n, n)`` and its
    rows ``(m, n)`` on the comparison images (float64)."""
    gram = np.asarray(gram, np.float64)
    eigenvalues, eigenvectors = features.eigendecomposition(gram)
    return Decomposition(eigenvalues, eigenvectors, features.resolved(eigenvalues, rcond), float(rcond), gram,
                         np.asarray(rows, np.float64))


def _block(architecture, batch_size, myrtle_batch_size):
    # Myrtle holds (hw)^2 floats per pair of images: its blocks are smaller.
    return myrtle_batch_size if architecture == "myrtle" else batch_size


def ntk_spectra(x_train, x_compare, architectures, depths, *, rcond: float = features.RCOND,
                batch_size: int = 64, myrtle_batch_size: int = 8) -> dict:
    """The analytic NTK of each architecture, decomposed: ``{kernel_name(a, d): Decomposition}``.

    Gram matrices go through the content-addressed cache (``kernels.gram``), so a rerun reads them back.

    Args:
      x_train: ``(n, h, w, c)``; x_compare: ``(m, h, w, c)`` inputs on which the kernels are compared.
      architectures, depths: equal-length lists (``architectures.build``).
      batch_size, myrtle_batch_size: kernel block sizes.
    """
    out = {}
    for architecture, depth in zip(architectures, depths):
        block = _block(architecture, batch_size, myrtle_batch_size)
        gram = kernels.gram(x_train, None, architecture, depth, batch_size=block)
        rows = kernels.gram(x_compare, x_train, architecture, depth, batch_size=block)
        out[kernel_name(architecture, depth)] = spectrum(gram, rows, rcond=rcond)
    return out


def baseline_spectra(x_train, x_compare, *, nngp=("fc", 1), rcond: float = features.RCOND,
                     batch_size: int = 64, myrtle_batch_size: int = 8) -> dict:
    r"""The baseline kernels, decomposed: ``"linear"`` :math:`x \cdot x' / d`, ``"rbf"``
    :math:`\exp(-\|x - x'\|^2 / 2\sigma^2)` (median heuristic on ``x_train``) and ``"nngp"``, the NNGP of
    ``nngp = (architecture, depth)``.

    These kernels are not NTKs: two NTKs of different architectures are consistent only if each is
    nearer the other than either is to any of them (``evidence.claims.claim4``).
    """
    sigma2 = kernels.median_bandwidth(x_train)
    out = {name: spectrum(kernels.baseline_gram(name, x_train, bandwidth=sigma2),
                          kernels.baseline_gram(name, x_compare, x_train, bandwidth=sigma2), rcond=rcond)
           for name in kernels.BASELINES}
    architecture, depth = nngp
    block = _block(architecture, batch_size, myrtle_batch_size)
    out["nngp"] = spectrum(kernels.gram(x_train, None, architecture, depth, kind="nngp", batch_size=block),
                           kernels.gram(x_compare, x_train, architecture, depth, kind="nngp", batch_size=block),
                           rcond=rcond)
    return out


def spectra(images: Images, p) -> tuple:
    """``(ntks, baselines)``: :func:`ntk_spectra` and :func:`baseline_spectra` (NNGP of the first architecture).

    Reads ``p.ARCHITECTURES``, ``p.DEPTHS``, ``p.RCOND``, ``p.BATCH_SIZE``, ``p.MYRTLE_BATCH_SIZE``.
    """
    blocks = dict(rcond=p.RCOND, batch_size=p.BATCH_SIZE, myrtle_batch_size=p.MYRTLE_BATCH_SIZE)
    ntks = ntk_spectra(images.train, images.compare, p.ARCHITECTURES, p.DEPTHS, **blocks)
    nngp = (p.ARCHITECTURES[0], p.DEPTHS[0])
    return ntks, baseline_spectra(images.train, images.compare, nngp=nngp, **blocks)


def feature_values(spec: Decomposition, y_train, n: int) -> np.ndarray:
    r"""Values of the first ``n`` eigen-features :math:`\phi_i = \psi_i\, v_i^\top Y` on the comparison inputs.

    Returns:
      ``(m, n)`` for ±1 labels, ``(m, n, k)`` for one-hot targets.
    """
    return spec.values(spec.coefficients(y_train, features=list(range(n))))


class Comparison(NamedTuple):
    r"""The kernels' top eigenspaces on the comparison images (:func:`compare`).

    Attributes:
      names: every kernel, NTKs first; ntks, baselines: the two groups' names.
      k: the :math:`k` of :math:`O_k` and of the verdict; k_max: eigenfunctions kept per kernel.
      m: comparison images. psi: ``{name: (m, k_max)}`` eigenfunction values.
      overlap: ``(K, K)`` :math:`O_k` between every pair of the ``K`` kernels.
      resolved: ``{name: int}`` resolved eigenvalues of each kernel.
    """

    names: list
    ntks: list
    baselines: list
    k: int
    k_max: int
    m: int
    psi: dict
    overlap: np.ndarray
    resolved: dict

    @property
    def top(self) -> dict:
        """``{name: (m, k)}``: the top-``k`` eigenfunctions of every kernel on the comparison images."""
        return {name: values[:, :self.k] for name, values in self.psi.items()}

    def table(self):
        """The overlap matrix as a DataFrame, kernels as rows and columns."""
        import pandas as pd  # only tables need pandas

        return pd.DataFrame(self.overlap, index=self.names, columns=self.names).round(3)

    def curves(self):
        r"""``(curves, chance)`` for ``plotting.eigenspace_overlap``: long table (``pair``, ``k``, ``overlap``) of
        :math:`O_k` for NTK pairs and each baseline against the first NTK, at about ``N_CURVE_POINTS`` values of
        :math:`k` (geometric, with ``k`` itself), and the chance level :math:`k/m` (``k``, ``overlap``)."""
        import pandas as pd

        ks = sorted({int(j) for j in np.geomspace(1, self.k_max, N_CURVE_POINTS)} | {self.k})
        curves = similarity.overlap_frame(self.psi, ks, among=self.ntks)
        chance = pd.DataFrame({"k": ks, "overlap": [similarity.chance_overlap(j, self.m) for j in ks]})
        return curves, chance

    def pairs(self) -> dict:
        """``{"a / b": O_k}`` for every unordered pair of kernels."""
        return {f"{a} / {b}": float(self.overlap[i, j]) for i, a in enumerate(self.names)
                for j, b in enumerate(self.names) if i < j}


def compare(ntks: dict, baselines: dict, top_k: int) -> Comparison:
    r"""Top eigenspaces of every kernel on the comparison images, and their pairwise overlaps.

    :math:`k_{\max}` is the smallest number of resolved eigenvalues of any kernel, at most
    :math:`\lfloor m/2 \rfloor` (the agreement's bootstrap resamples the :math:`m` images, so a
    :math:`k`-dimensional span needs more than :math:`k` of them); :math:`k = \min(` ``top_k`` :math:`, k_{\max})`.

    Args:
      ntks, baselines: ``{name: Decomposition}`` of the same images (:func:`spectra`).
      top_k: the requested :math:`k` (``TOP_K``).

    Returns:
      :class:`Comparison`.
    """
    every = {**ntks, **baselines}
    m = len(next(iter(every.values())).k_test_train)
    resolved = {name: int(s.resolved.sum()) for name, s in every.items()}
    k_max = min(min(resolved.values()), m // 2)
    if k_max < 1:
        raise ValueError(f"N_COMPARE = {m} is not allowed with these kernels ({resolved} resolved eigenvalues): "
                         "expected at least two comparison images and one resolved eigenvalue per kernel.")
    k = min(int(top_k), k_max)
    psi = similarity.top_eigenfunctions(every, k_max)
    overlap = similarity.overlap_matrix({name: values[:, :k] for name, values in psi.items()})
    return Comparison(list(every), list(ntks), list(baselines), k, k_max, m, psi, overlap, resolved)


def rbf_kernel_fn(bandwidth: float):
    r"""The RBF baseline :math:`\exp(-\|x - x'\|^2 / 2\sigma^2)` as a differentiable ``kernel_fn(x1, x2=None, get)``
    (the form ``feature_attacks`` attacks; ``get`` is accepted and ignored), ``bandwidth`` :math:`= \sigma^2`
    (``kernels.median_bandwidth`` of the training images, as in :func:`baseline_spectra`)."""
    sigma2 = float(bandwidth)

    def kernel_fn(x1, x2=None, get="ntk"):
        x2 = x1 if x2 is None else x2
        a, b = x1.reshape(x1.shape[0], -1), x2.reshape(x2.shape[0], -1)
        d = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
        return jnp.exp(-jnp.maximum(d, 0.0) / (2.0 * sigma2))
    return kernel_fn


class Profiles(NamedTuple):
    """Robustness profiles of the attacked NTKs (:func:`robustness_profiles`).

    Attributes:
      attack: ``"PGD"`` or ``"FGSM"``; sample: ``feature_attacks.FeatureSample`` (the same indices in every kernel);
      classes: ``{name: evidence.FeatureClasses}`` of each attacked NTK; majority: the test set's majority rate;
      controls: ``{name: evidence.FeatureClasses}`` of the attacked baseline kernels (the RBF), the same indices.
    """

    attack: str
    sample: feature_attacks.FeatureSample
    classes: dict
    majority: float
    controls: dict = {}

    def _every(self) -> dict:
        return {**self.classes, **{f"{name} (control)": c for name, c in self.controls.items()}}

    def counts(self):
        """Useful / robust / non-robust counts per attacked kernel (DataFrame, one row each; controls marked)."""
        import pandas as pd

        return pd.DataFrame({name: c.counts() for name, c in self._every().items()}).T

    def long(self):
        """Long table (``kernel``, ``index`` 1-based, ``measure``, ``accuracy``) for ``plotting.feature_profiles``."""
        import pandas as pd

        wide = pd.concat([pd.DataFrame({"kernel": name, "index": self.sample.index + 1,
                                        "usefulness": c.clean_accuracy,
                                        f"robustness ({self.attack})": c.robust_accuracy})
                          for name, c in self._every().items()])
        return wide.melt(["kernel", "index"], var_name="measure", value_name="accuracy")

    def gammas(self) -> dict | None:
        r"""``{name: (n_attacked,) γ}`` for claim 4's profile part; ``None`` with fewer than two attacked kernels."""
        out = {name: c.robust_accuracy for name, c in self.classes.items()}
        return out if len(out) >= 2 else None

    def control_gammas(self) -> dict:
        r"""``{name: (n_attacked,) γ}`` of the attacked baseline kernels (the profile verdict's control)."""
        return {name: c.robust_accuracy for name, c in self.controls.items()}


def robustness_profiles(ntks: dict, task, images: Images, p, baselines: dict | None = None) -> Profiles:
    r"""Usefulness and robustness :math:`\gamma_i` of the same sampled eigen-indices in every attacked NTK.

    The candidates are the features resolved in every NTK (and in the RBF control when it is
    attacked); the leading ``N_LEADING`` are attacked exactly and one feature from each of
    ``N_SAMPLED`` strata of the rest (``feature_attacks.sample_features``). Each feature
    :math:`\phi_i = \Theta(x, X) v_i \lambda_i^{-1} v_i^\top Y` is attacked on its own by PGD at radius
    ``EPS`` (``ATTACK_STEPS`` steps of ``ATTACK_STEP_SIZE``; ``feature_attacks.settings``) on every test
    image, ``POINT_CHUNK`` images at a time. With ``ATTACK_CONTROL`` the RBF baseline's features at
    the same indices are attacked the same way: the control of the profile verdict, since any two
    kernels' profiles fall with the index.

    Reads ``p.ARCHITECTURES``, ``p.DEPTHS``, ``p.ATTACKED``, ``p.ATTACK_CONTROL``, ``p.N_LEADING``, ``p.N_SAMPLED``,
    ``p.SEED``, ``p.EPS``, ``p.ATTACK_STEPS``, ``p.ATTACK_STEP_SIZE``, ``p.FEATURE_CHUNK``, ``p.POINT_CHUNK``.

    Args:
      ntks: ``{kernel_name(a, d): Decomposition}`` (:func:`ntk_spectra`); task: the ``data.Task``
        (``y_train`` ``(n,)`` or ``(n, k)``, ``y_test``, ``labels_test`` ``(n_test,)``); images: its :class:`Images`;
      baselines: :func:`baseline_spectra` (needed for ``ATTACK_CONTROL``).

    Returns:
      :class:`Profiles`, each kernel's classes over ``(n_attacked, n_test)`` correctness.
    """
    control = bool(getattr(p, "ATTACK_CONTROL", False)) and baselines is not None and "rbf" in baselines
    spectra_ = list(ntks.values()) + ([baselines["rbf"]] if control else [])
    common = np.logical_and.reduce([s.resolved for s in spectra_])
    sample = feature_attacks.sample_features(common, n_leading=p.N_LEADING, n_sampled=p.N_SAMPLED, seed=p.SEED)
    attack, options = feature_attacks.settings(p.EPS, p.ATTACK_STEPS, p.ATTACK_STEP_SIZE,
                                               feature_chunk=p.FEATURE_CHUNK)

    def classify(spec, kernel_fn):
        coef = spec.coefficients(task.y_train, features=list(sample.index))
        c = feature_attacks.correctness_by_points(kernel_fn, images.train, coef, images.test, task.y_test,
                                                  point_chunk=p.POINT_CHUNK, **options)
        return evidence.classify_features(c.clean, c.robust, task.labels_test, attack=attack)

    classes = {kernel_name(a, d): classify(ntks[kernel_name(a, d)], kernels.kernel_fn(a, d))
               for a, d, on in zip(p.ARCHITECTURES, p.DEPTHS, p.ATTACKED) if on}
    controls = ({"rbf": classify(baselines["rbf"], rbf_kernel_fn(kernels.median_bandwidth(images.train)))}
                if control else {})
    return Profiles(attack, sample, classes, evidence.majority_rate(task.labels_test), controls)


def verdicts(ntks: dict, baselines: dict, comparison: Comparison, profiles: Profiles, *, seed: int = 0,
             n_boot: int = 500) -> list:
    """Claim 4's verdicts (``evidence.claims.claim4``): the NTKs' separation from the baselines, from every
    kernel's Gram matrix and comparison rows (resampled over training images), and (with two or more attacked
    kernels) agreement of the robustness profiles beyond the index trend, against the RBF control if attacked."""
    every = {**ntks, **baselines}
    grams = {name: (s.k_train_train, s.k_test_train) for name, s in every.items()}
    return evidence.claims.claim4(grams, comparison.ntks, comparison.baselines, k=comparison.k,
                                  profiles=profiles.gammas(), index=profiles.sample.index,
                                  controls=profiles.control_gammas() or None, attack=profiles.attack,
                                  n_boot=n_boot, seed=seed)


def verdict_table(verdicts):
    """The verdicts as a DataFrame indexed by key: estimate, CI, control and its value, decision, reason."""
    import pandas as pd

    columns = ["estimate", "ci", "control", "control_value", "decision", "reason"]
    return pd.DataFrame([v.to_dict() for v in verdicts]).set_index("key")[columns]


def margin_table(verdict):
    """Per NTK pair of the agreement verdict: its overlap, nearest baseline, separation margin and interval
    (Bonferroni level over the pairs), as a DataFrame indexed by pair."""
    import pandas as pd

    rows = {pair: {"O_k(A, B)": v["ntk_overlap"], "nearest baseline": v["nearest_baseline"],
                   "margin D": v["margin"], "interval": v["ci"]}
            for pair, v in verdict.details.get("pairs", {}).items()}
    return pd.DataFrame(rows).T.round(3)


def agreement(ntks: dict, y_train, n: int) -> tuple:
    r"""Cosines :math:`c_{ij}` between feature :math:`\phi^A_i` of the first NTK and :math:`\phi^B_j` of the last,
    as vectors of values on the comparison images, for the first ``n`` indices (``similarity.agreement_matrix``).

    Returns:
      ``(matrix (n, n), name_a, name_b)``.
    """
    first, last = list(ntks)[0], list(ntks)[-1]
    phi_a, phi_b = (feature_values(ntks[name], y_train, n) for name in (first, last))
    return similarity.agreement_matrix(phi_a, phi_b), first, last


def summary(task, images: Images, comparison: Comparison, profiles: Profiles, verdicts) -> tuple:
    """The section's ``(metrics, glue)`` for ``record.report``: sizes, overlaps, attacked features and the
    numbers the "What we found" text quotes (the closest NTK pair and its nearest baseline, profile correlations)."""
    agreement_v = verdicts[0]
    profile_v = verdicts[1] if len(verdicts) > 1 else None
    pairs = agreement_v.details.get("pairs", {})
    closest = agreement_v.details.get("closest_pair")
    sample, m = profiles.sample, len(images.compare)
    metrics = {
        "n_train": task.n_train, "n_test": task.n_test, "n_compare": m, "classes": list(task.class_names),
        "image_shape": list(images.train.shape[1:]), "kernels": comparison.ntks, "baselines": comparison.baselines,
        "top_k": comparison.k, "overlap_top_k": comparison.pairs(), "n_resolved": comparison.resolved,
        "attack": profiles.attack, "attacked_index": sample.index.tolist(), "attacked_weight": sample.weight.tolist(),
        "n_exact": sample.n_exact, "majority_rate": profiles.majority,
        "features": {name: c.to_dict() for name, c in profiles._every().items()},
    }
    overlaps = comparison.pairs()
    generic = [overlaps[f"{a} / {b}"] for a in comparison.ntks for b in comparison.baselines]
    partial = profile_v.details.get("partial_rho", {}) if profile_v else {}
    raw = profile_v.details.get("raw_rho", {}) if profile_v else {}
    glue = {
        "task_name": " vs ".join(task.class_names) if task.is_binary else f"{task.n_classes}-class",
        "kernel_names": ", ".join(comparison.ntks), "image_side": int(images.train.shape[1]),
        "n_train": task.n_train, "n_test": task.n_test, "n_compare": m, "top_k": comparison.k,
        "chance": comparison.k / m, "n_pairs": len(pairs), "n_boot": agreement_v.details.get("n_boot", 0),
        "closest_pair": closest or "none",
        "closest_pair_overlap": (pairs.get(closest) or {}).get("ntk_overlap") or float("nan"),
        "closest_pair_baseline": (pairs.get(closest) or {}).get("nearest_baseline") or "none",
        "closest_pair_baseline_overlap": agreement_v.control_value,
        "generic_overlap_min": min(generic), "generic_overlap_max": max(generic),
        "attacked_kernels": ", ".join(profiles.classes) or "none", "attack": profiles.attack,
        "control_kernels": ", ".join(profiles.controls) or "none",
        "n_attacked": len(sample.index), "n_exact": sample.n_exact,
        "profile_raw": "; ".join(f"{pair}: ρ = {r:.2f}" for pair, r in raw.items()) or "none",
        "profile_partial": "; ".join(f"{pair}: {r:.2f}" for pair, r in partial.items()) or "none",
        "profile_index": "; ".join(f"{name}: {r:.2f}" for name, r in
                                   (profile_v.details.get("index_rho", {}) if profile_v else {}).items()) or "none",
    }
    return metrics, glue
