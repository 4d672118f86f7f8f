r"""Claim 6's experiment: find useful non-robust eigen-features, confirm them on held-out images, picture them.

Per task (section 7 runs a binary and a multi-class one), :func:`study` decomposes the NTK
(``decomposition.decompose``), attacks the leading and a stratified sample of the resolved
features (``feature_attacks``), decides claim 6 by select-then-confirm against a
label-permutation null (``evidence.claims.claim6``) and marks the features confirmed useful and
non-robust. The pictures are the input gradients :math:`g_i(x) = \nabla_x L(\phi_i(x), y)`
(``feature_attacks.input_gradients``): :func:`pictures` at chosen test images for the top, the
bottom resolved and the confirmed feature, beside the images and their PGD versions against
:math:`f_\infty`; :func:`gallery` for every confirmed feature at one image; :func:`roughness` puts a
number on them; :func:`summary` gives the section's metrics and glue.

Functions that take ``p`` read the section's parameters from it (``sections.setup``'s result);
each docstring names those it reads.
"""

from typing import NamedTuple

import numpy as np

from ntkcompanion import attacks, data, decomposition, evidence, feature_attacks, kernels, predictor

__all__ = ["tasks", "Study", "study", "counts_table", "roles", "pick_images", "pictures", "gallery", "roughness",
           "summary", "TOP", "BOTTOM", "CONFIRMED"]

TOP, BOTTOM, CONFIRMED = "top", "bottom", "confirmed useful, non-robust"


def tasks(p) -> dict:
    """``{"binary": Task, "multi-class": Task}`` (``data.load_task``; errors name ``BINARY_CLASSES`` or
    ``MULTI_CLASSES``). Reads ``p.DATASET``, ``p.BINARY_CLASSES``, ``p.MULTI_CLASSES``, ``p.N_TRAIN``,
    ``p.N_TEST``, ``p.SEED``."""
    def load(classes, name):
        return data.load_task(p.DATASET, classes, n_train=p.N_TRAIN, n_test=p.N_TEST, seed=p.SEED,
                              names={"classes": name})

    return {"binary": load(p.BINARY_CLASSES, "BINARY_CLASSES"), "multi-class": load(p.MULTI_CLASSES, "MULTI_CLASSES")}


class Study(NamedTuple):
    """One task's features, attacked and decided (:func:`study`).

    Attributes:
      task: the ``data.Task``; dec: its ``decomposition.Decomposition``; sample: ``feature_attacks.FeatureSample``;
      attack: ``"PGD"`` or ``"FGSM"``; classes: ``evidence.FeatureClasses`` of the sampled features;
      verdict: claim 6's ``Verdict``; confirmed: ``(n_attacked,)`` bool, confirmed useful and non-robust.
    """

    task: object
    dec: decomposition.Decomposition
    sample: feature_attacks.FeatureSample
    attack: str
    classes: object
    verdict: object
    confirmed: np.ndarray

    def counts(self) -> dict:
        """The classes' counts, the confirmed count and the decision (one row of the section's table)."""
        return {**self.classes.counts(), "confirmed_useful_non_robust": int(self.confirmed.sum()),
                "decision": self.verdict.decision}


def study(task, p) -> Study:
    r"""Attack a task's sampled eigen-features and decide claim 6 with its label-permutation null.

    The null recomputes the features on ``N_PERMUTATIONS`` tasks whose training *and* test labels
    are shuffled (``decomposition.permuted_task_correctness``). A feature is confirmed when it is
    useful on held-out test images (``evidence.confirmed_useful``) and non-robust.

    Reads ``p.ARCHITECTURE``, ``p.DEPTH``, ``p.BATCH_SIZE``, ``p.RCOND``, ``p.N_LEADING``, ``p.N_SAMPLED``,
    ``p.N_PERMUTATIONS``, ``p.SEED``, ``p.EPS``, ``p.ATTACK_STEPS``, ``p.ATTACK_STEP_SIZE``, ``p.FEATURE_CHUNK``.
    """
    dec = decomposition.decompose(task, p.ARCHITECTURE, p.DEPTH, batch_size=p.BATCH_SIZE, rcond=p.RCOND)
    sample = feature_attacks.sample_features(dec.resolved, n_leading=p.N_LEADING, n_sampled=p.N_SAMPLED, seed=p.SEED)
    attack, options = feature_attacks.settings(p.EPS, p.ATTACK_STEPS, p.ATTACK_STEP_SIZE,
                                               feature_chunk=p.FEATURE_CHUNK)
    coef = dec.coefficients(task.y_train, features=list(sample.index))
    c = feature_attacks.correctness(kernels.kernel_fn(p.ARCHITECTURE, p.DEPTH), task.x_train, coef, task.x_test,
                                    task.y_test, **options)
    null, y_null = decomposition.permuted_task_correctness(dec, task.y_train, task.y_test, index=sample.index,
                                                           n_perm=p.N_PERMUTATIONS, seed=p.SEED)
    y_null = y_null if task.is_binary else y_null.argmax(-1)
    verdict = evidence.claims.claim6(c.clean, c.robust, task.labels_test, attack=attack, seed=p.SEED,
                                     null_clean_correct=null, null_labels=y_null)
    classes = evidence.classify_features(c.clean, c.robust, task.labels_test, attack=attack)
    confirmed = evidence.confirmed_useful(c.clean, task.labels_test, seed=p.SEED) & classes.non_robust
    return Study(task, dec, sample, attack, classes, verdict, confirmed)


def counts_table(studies: dict):
    """One row per task of :meth:`Study.counts` (DataFrame)."""
    import pandas as pd

    return pd.DataFrame({name: s.counts() for name, s in studies.items()}).T


def roles(s: Study) -> dict:
    """Eigen-indices (0-based) pictured: ``TOP`` (index 0), ``BOTTOM`` (last resolved) and, when claim 6 is
    supported, ``CONFIRMED`` (the verdict's selected feature)."""
    out = {TOP: 0, BOTTOM: int(np.flatnonzero(s.dec.resolved)[-1])}
    if s.verdict.decision == evidence.Decision.SUPPORTED:
        out[CONFIRMED] = int(s.sample.index[s.verdict.details["feature"]])
    return out


def pick_images(labels, n: int) -> np.ndarray:
    """The first ``n`` test images taking the classes in turn: the first image of each class (in class order),
    then the second of each, and so on. ``labels``: ``(n_test,)`` class ids. Returns ``(min(n, n_test),)`` indices."""
    labels = np.asarray(labels)
    rank = np.zeros(len(labels), int)  # i-th image of its class
    for c in np.unique(labels):
        rank[labels == c] = np.arange((labels == c).sum())
    return np.lexsort((labels, rank))[:n]


def _class_names(task, out) -> list:
    out = np.asarray(out)
    ids = np.argmax(out, 1) if out.ndim == 2 else (out > 0).astype(int)
    return [task.class_names[j] for j in ids]


def pictures(s: Study, p) -> dict:
    r"""Arguments of ``plotting.feature_pictures``: ``N_IMAGES`` test images (:func:`pick_images`), their PGD
    versions against :math:`f_\infty` at radius ``EPS``, and the input gradients ``(n_roles, n_images, h, w, c)``
    of the features of :func:`roles`, with titles naming :math:`f_\infty`'s predictions.

    Reads ``p.ARCHITECTURE``, ``p.DEPTH``, ``p.N_IMAGES``, ``p.EPS``, ``p.ATTACK_STEP_SIZE``, ``p.ATTACK_STEPS``.
    """
    task, chosen = s.task, roles(s)
    kernel_fn = kernels.kernel_fn(p.ARCHITECTURE, p.DEPTH)
    pick = pick_images(task.labels_test, p.N_IMAGES)
    x, y = task.x_test[pick], task.y_test[pick]
    f_inf = predictor.fit(kernel_fn, task.x_train, task.y_train, k_train_train=s.dec.k_train_train)
    x_adv = attacks.pgd(f_inf, x, y, eps=p.EPS, step_size=p.ATTACK_STEP_SIZE, steps=max(p.ATTACK_STEPS, 1))
    coef = s.dec.coefficients(task.y_train, features=list(chosen.values()))
    return dict(images=x, adversarial=x_adv,
                gradients=feature_attacks.input_gradients(kernel_fn, task.x_train, coef, x, y),
                titles=[f"{role}\n$\\phi_{{{i + 1}}}$" for role, i in chosen.items()],
                image_titles=[f"f∞: {n}" for n in _class_names(task, f_inf(x))],
                adversarial_titles=[f"adversarial, f∞: {n}" for n in _class_names(task, f_inf(x_adv))])


def gallery(s: Study, p) -> dict:
    r"""Arguments of ``plotting.feature_gallery``: the top feature (framed) and up to ``N_GALLERY`` confirmed
    useful non-robust features, their input gradients ``(n, h, w, c)`` at the first test image, titled with
    clean accuracy :math:`\rho` and robustness :math:`\gamma`.

    Reads ``p.ARCHITECTURE``, ``p.DEPTH``, ``p.N_GALLERY``."""
    task, c = s.task, s.classes
    rows = [0] + [int(r) for r in np.flatnonzero(s.confirmed) if r][:p.N_GALLERY]
    index = s.sample.index[rows]
    coef = s.dec.coefficients(task.y_train, features=list(index))
    g = feature_attacks.input_gradients(kernels.kernel_fn(p.ARCHITECTURE, p.DEPTH), task.x_train, coef,
                                        task.x_test[:1], task.y_test[:1])[:, 0]
    titles = [f"$\\phi_{{{i + 1}}}$: ρ {c.clean_accuracy[r]:.2f}\nγ {c.robust_accuracy[r]:.2f}"
              for i, r in zip(index, rows)]
    return dict(gradients=g, titles=titles, image=task.x_test[0], frames=[TOP] + [CONFIRMED] * (len(rows) - 1))


def roughness(studies: dict, shown: dict):
    """Mean roughness (``plotting.gradient_roughness``) over the pictured images of each pictured feature: a
    DataFrame, one row per task, one column per role (NaN where a task has no confirmed feature)."""
    import pandas as pd

    from ntkcompanion.plotting import gradient_roughness

    return pd.DataFrame({name: pd.Series(gradient_roughness(shown[name]["gradients"]).mean(1),
                                         index=list(roles(s))) for name, s in studies.items()}).T


def summary(studies: dict, rough, p) -> tuple:
    """The section's ``(metrics, glue)`` for ``record.report``; ``studies`` has keys ``"binary"`` and
    ``"multi-class"``. Reads ``p.N_TRAIN``, ``p.N_TEST``, ``p.EPS``."""
    binary = studies["binary"]
    glue = {"binary_name": " vs ".join(binary.task.class_names),
            "multi_name": f"{studies['multi-class'].task.n_classes}-class", "n_train": p.N_TRAIN,
            "n_test": p.N_TEST, "eps": p.EPS, "attack": binary.attack, "n_half": p.N_TEST - p.N_TEST // 2}
    for key, name in (("binary", "binary"), ("multi", "multi-class")):
        r, s = rough.loc[name], studies[name]
        glue |= {f"{key}_rough_top": float(r[TOP]), f"{key}_rough_bottom": float(r[BOTTOM]),
                 f"{key}_rough_confirmed": float(r.get(CONFIRMED, float("nan"))),
                 f"{key}_n_confirmed": int(s.confirmed.sum()), f"{key}_n_attacked": len(s.sample.index),
                 f"{key}_n_useful": s.classes.counts()["useful"], f"{key}_null": s.verdict.control_value,
                 f"{key}_decision": s.verdict.decision, f"{key}_reason": s.verdict.reason}
    metrics = {name: {"classes": list(s.task.class_names), "n_train": s.task.n_train, "n_test": s.task.n_test,
                      "attack": s.attack, "attacked_index": s.sample.index.tolist(),
                      "attacked_weight": s.sample.weight.tolist(), "counts": s.classes.counts(),
                      "confirmed_useful_non_robust": int(s.confirmed.sum()), "pictured": roles(s),
                      "verdict": s.verdict.to_dict(),
                      "roughness": {k: float(v) for k, v in rough.loc[name].dropna().items()}}
               for name, s in studies.items()}
    return metrics, glue
