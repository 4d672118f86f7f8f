r"""Claim 6's experiment: find useful non-robust eigen-features, confirm them on held-out images, picture them.

Per task (section 7 runs a binary and a multi-class one), :func:`study` decomposes the NTK
(``decomposition.decompose``), attacks the leading and a stratified sample of the resolved
features (``feature_attacks``) and, on a binary task, the tail group
:math:`\sum_{i > k} \phi_i` past the ``k = N_LEADING`` leading features (``Decomposition.head_tail``),
decides claim 6 by select-then-confirm against label-permutation nulls (``evidence.claims.claim6``:
two verdicts, one for a single feature and one for the tail group as a whole) and marks the features
confirmed useful and non-robust. The pictures are the input gradients :math:`g_i(x) = \nabla_x L(\phi_i(x), y)`
(``feature_attacks.input_gradients``): :func:`pictures` at chosen test images for the top, the
bottom resolved and the confirmed feature (and the tail group when it is what is confirmed), beside the images and their PGD versions against
:math:`f_\infty`; :func:`gallery` for every confirmed feature at one image; :func:`roughness` puts a
number on them; :func:`summary` gives the section's metrics and glue.

Functions that take ``p`` read the section's parameters from it (``sections.setup``'s result);
each docstring names those it reads.
"""

from typing import NamedTuple

import numpy as np

from ntkcompanion import attacks, data, decomposition, evidence, feature_attacks, kernels, losses, predictor
from ntkcompanion.plotting import gradient_roughness

__all__ = ["tasks", "Study", "study", "counts_table", "roles", "pick_images", "pictures", "gallery", "roughness",
           "candidate", "summary", "tail_k", "TOP", "BOTTOM", "CONFIRMED", "TAIL"]

TOP, BOTTOM, CONFIRMED, TAIL = "top", "bottom", "confirmed useful, non-robust", "tail group, confirmed"


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
      verdicts: claim 6's ``Verdict`` list (single feature; and the tail group on a binary task);
      confirmed: ``(n_attacked,)`` bool, confirmed useful (held-out halves) and non-robust;
      tail: ``None`` (multi-class task) or ``{"k", "clean", "robust", "head_robust"}``, the tail group's head
      size, its ``(n_test,)`` 0/1 correctness, clean and under ``attack``, and the head's under ``attack``.
    """

    task: object
    dec: decomposition.Decomposition
    sample: feature_attacks.FeatureSample
    attack: str
    classes: object
    verdicts: list
    confirmed: np.ndarray
    tail: dict | None = None

    @property
    def verdict(self):
        """The single-feature verdict (``claim6_feature``)."""
        return self.verdicts[0]

    @property
    def group_verdict(self):
        """The tail-group verdict (``claim6_group``), or None (multi-class task)."""
        return self.verdicts[1] if len(self.verdicts) > 1 else None

    def feature_confirmed(self) -> bool:
        """Whether a single feature is confirmed useful and non-robust."""
        return self.verdict.decision == evidence.Decision.SUPPORTED

    def tail_confirmed(self) -> bool:
        """Whether the tail group as a whole is confirmed useful and non-robust."""
        return self.group_verdict is not None and self.group_verdict.decision == evidence.Decision.SUPPORTED

    def counts(self) -> dict:
        """The classes' counts, the confirmed count and the decision (one row of the section's table)."""
        out = {**self.classes.counts(), "confirmed_useful_non_robust": int(self.confirmed.sum())}
        if self.tail is not None:
            out |= {"tail_clean": round(float(self.tail["clean"].mean()), 3),
                    "tail_robust": round(float(self.tail["robust"].mean()), 3),
                    "group_decision": self.group_verdict.decision}
        return out | {"feature_decision": self.verdict.decision}


def tail_k(p, n_train: int) -> int:
    r"""The head's size ``k``: the ``N_LEADING`` features attacked one by one (at least 1, at most ``n_train - 1``),
    so the tail group :math:`\sum_{i > k} \phi_i` is the rest of the spectrum."""
    return int(min(max(p.N_LEADING, 1), n_train - 1))


def _tail_null(dec, task, k: int, n_perm: int, seed: int):
    """Clean correctness ``(n_perm, n_test)`` of the tail group of label-permuted tasks (training and test labels
    shuffled together, as in ``decomposition.permuted_task_correctness``) and their test labels ``(n_perm, n_test)``."""
    rng = np.random.default_rng(seed + 1)
    out, ys = [], []
    for _ in range(n_perm):
        y_tr, y_te = task.y_train[rng.permutation(task.n_train)], task.y_test[rng.permutation(len(task.y_test))]
        out.append(losses.correct(dec.values(dec.head_tail(y_tr, k)[:, 1:])[:, 0], y_te))
        ys.append(y_te)
    return np.stack(out).astype(float), np.stack(ys)


def study(task, p) -> Study:
    r"""Attack a task's sampled eigen-features (and, for a binary task, the head and the tail group) and decide claim 6.

    The nulls recompute the features and the tail group on ``N_PERMUTATIONS`` tasks whose training *and*
    test labels are shuffled (``decomposition.permuted_task_correctness``). The tail group
    :math:`\sum_{i > k} \phi_i` (:func:`tail_k`) and the head :math:`\sum_{i \le k} \phi_i` (claim 6's contrast:
    robustly useful, it shows the attack does not defeat every predictor) are attacked in the same batch as
    the features. A
    feature is confirmed when it is useful on held-out test images (``evidence.confirmed_useful``)
    and non-robust.

    Reads ``p.ARCHITECTURE``, ``p.DEPTH``, ``p.BATCH_SIZE``, ``p.RCOND``, ``p.N_LEADING``, ``p.N_SAMPLED``,
    ``p.N_PERMUTATIONS``, ``p.SEED``, ``p.EPS``, ``p.ATTACK_STEPS``, ``p.ATTACK_STEP_SIZE``, ``p.FEATURE_CHUNK``.
    """
    dec = decomposition.decompose(task, p.ARCHITECTURE, p.DEPTH, batch_size=p.BATCH_SIZE, rcond=p.RCOND)
    sample = feature_attacks.sample_features(dec.resolved, n_leading=p.N_LEADING, n_sampled=p.N_SAMPLED, seed=p.SEED)
    attack, options = feature_attacks.settings(p.EPS, p.ATTACK_STEPS, p.ATTACK_STEP_SIZE,
                                               feature_chunk=p.FEATURE_CHUNK)
    coef, k = dec.coefficients(task.y_train, features=list(sample.index)), tail_k(p, task.n_train)
    if task.is_binary:  # the head and the tail group as two more columns, attacked with the features
        coef = np.concatenate([coef, dec.head_tail(task.y_train, k)], axis=1)
    c = feature_attacks.correctness(kernels.kernel_fn(p.ARCHITECTURE, p.DEPTH), task.x_train, coef, task.x_test,
                                    task.y_test, **options)
    tail, tail_null = None, None
    if task.is_binary:
        tail = {"k": k, "clean": np.asarray(c.clean[-1], float), "robust": np.asarray(c.robust[-1], float),
                "head_robust": np.asarray(c.robust[-2], float)}
        tail_null = _tail_null(dec, task, k, p.N_PERMUTATIONS, p.SEED)
        c = feature_attacks.Correctness(c.clean[:-2], c.robust[:-2])
    null, y_null = decomposition.permuted_task_correctness(dec, task.y_train, task.y_test, index=sample.index,
                                                           n_perm=p.N_PERMUTATIONS, seed=p.SEED)
    y_null = y_null if task.is_binary else y_null.argmax(-1)
    fam = feature_attacks.families(sample, p.N_LEADING)
    tail_size = int(dec.resolved.sum()) - k
    verdicts = evidence.claims.claim6(c.clean, c.robust, task.labels_test, attack=attack, seed=p.SEED,
                                      null_clean_correct=null, null_labels=y_null, index=sample.index, k=k,
                                      tail=None if tail is None else (tail["clean"], tail["robust"]),
                                      tail_null=tail_null, families=fam, tail_size=tail_size,
                                      contrast=None if tail is None else tail["head_robust"])
    classes = evidence.classify_features(c.clean, c.robust, task.labels_test, attack=attack, families=fam)
    confirmed = evidence.confirmed_useful(c.clean, task.labels_test, seed=p.SEED) & classes.non_robust
    return Study(task, dec, sample, attack, classes, verdicts, confirmed, tail)



def counts_table(studies: dict):
    """One row per task of :meth:`Study.counts` (DataFrame)."""
    import pandas as pd

    return pd.DataFrame({name: s.counts() for name, s in studies.items()}).T


def roles(s: Study) -> dict:
    r"""Eigen-indices (0-based) pictured: ``TOP`` (index 0), ``BOTTOM`` (last resolved), ``CONFIRMED`` (the
    single-feature verdict's feature, when that verdict is supported) and ``TAIL`` (the head size ``k`` of the
    tail group :math:`\sum_{i > k} \phi_i`, when the group verdict is supported): confirmed candidates only."""
    out = {TOP: 0, BOTTOM: int(np.flatnonzero(s.dec.resolved)[-1])}
    if s.verdict.decision == evidence.Decision.SUPPORTED:
        out[CONFIRMED] = int(s.sample.index[s.verdict.details["feature"]])
    group = getattr(s, "group_verdict", None)
    if group is not None and group.decision == evidence.Decision.SUPPORTED:
        out[TAIL] = int(group.details["k"])
    return out


def _coefficients(s: Study, chosen: dict):
    """Coefficient columns ``(n_train, m)`` of the pictured roles, in order: features, and the tail group at ``TAIL``."""
    cols = [s.dec.head_tail(s.task.y_train, i)[:, 1] if role == TAIL
            else s.dec.coefficients(s.task.y_train, features=[i])[:, 0] for role, i in chosen.items()]
    return np.stack(cols, axis=1)


def _name(role, i) -> str:
    return f"$\\sum_{{i>{i}}} \\phi_i$" if role == TAIL else f"$\\phi_{{{i + 1}}}$"


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
    return dict(images=x, adversarial=x_adv,
                gradients=feature_attacks.input_gradients(kernel_fn, task.x_train, _coefficients(s, chosen), x, y),
                titles=[f"{role}\n{_name(role, i)}" for role, i in chosen.items()],
                image_titles=[f"f∞: {n}" for n in _class_names(task, f_inf(x))],
                adversarial_titles=[f"adversarial, f∞: {n}" for n in _class_names(task, f_inf(x_adv))])


def gallery(s: Study, p) -> dict:
    r"""Arguments of ``plotting.feature_gallery``: the top feature (framed) and up to ``N_GALLERY`` confirmed
    useful non-robust features, then the tail group :math:`\sum_{i > k} \phi_i` when claim 6 is confirmed by it;
    their input gradients ``(n, h, w, c)`` at the first test image, titled with clean accuracy :math:`\rho`
    and robustness :math:`\gamma`.

    Reads ``p.ARCHITECTURE``, ``p.DEPTH``, ``p.N_GALLERY``."""
    task, c = s.task, s.classes
    rows = [0] + [int(r) for r in np.flatnonzero(s.confirmed) if r][:p.N_GALLERY]
    panels = [(CONFIRMED if r else TOP, int(s.sample.index[r]), c.clean_accuracy[r], c.robust_accuracy[r])
              for r in rows]                                    # (role, index, ρ, γ)
    if s.tail_confirmed():
        panels.append((TAIL, s.tail["k"], s.tail["clean"].mean(), s.tail["robust"].mean()))
    coef = np.concatenate([_coefficients(s, {role: i}) for role, i, _, _ in panels], axis=1)
    g = feature_attacks.input_gradients(kernels.kernel_fn(p.ARCHITECTURE, p.DEPTH), task.x_train, coef,
                                        task.x_test[:1], task.y_test[:1])[:, 0]
    titles = [f"{_name(role, i)}: ρ {rho:.2f}\nγ {gamma:.2f}" for role, i, rho, gamma in panels]
    frames = [role for role, _, _, _ in panels]
    return dict(gradients=g, titles=titles, image=task.x_test[0], frames=frames)


def roughness(studies: dict, shown: dict):
    """Mean roughness (``plotting.gradient_roughness``) over the pictured images of each pictured feature: a
    DataFrame, one row per task, one column per role (NaN where a task has no confirmed feature)."""
    import pandas as pd

    return pd.DataFrame({name: pd.Series(gradient_roughness(shown[name]["gradients"]).mean(1),
                                         index=list(roles(s))) for name, s in studies.items()}).T


def candidate(s: Study) -> str:
    """In words, the single-feature candidate of claim 6: the feature selected on half A, or none."""
    d = s.verdict.details
    return d["label"] if d.get("candidate") else "no candidate"


def summary(studies: dict, rough, p) -> tuple:
    """The section's ``(metrics, glue)`` for ``record.report``; ``studies`` has keys ``"binary"`` and
    ``"multi-class"``. Reads ``p.N_TRAIN``, ``p.N_TEST``, ``p.EPS``."""
    binary = studies["binary"]
    d = binary.verdict.details
    glue = {"binary_name": " vs ".join(binary.task.class_names),
            "multi_name": f"{studies['multi-class'].task.n_classes}-class", "n_train": p.N_TRAIN,
            "n_test": p.N_TEST, "eps": p.EPS, "attack": binary.attack, "n_half": d["n_b"], "n_select": d["n_a"],
            "binary_candidate": candidate(binary), "n_attacked": len(binary.sample.index),
            "n_leading": int(binary.sample.n_exact), "n_sampled": len(binary.sample.index) - binary.sample.n_exact,
            "majority_b": d["majority_b"], "confirmable": d["smallest_confirmable_accuracy"],
            "candidate_clean_a": d.get("clean_a", float("nan")), "candidate_clean_b": d.get("clean_b", float("nan")),
            "candidate_gamma_b": d.get("gamma_b", float("nan")), "robust_on_a": d["robust_on_a"],
            "useful_on_a": d["useful_on_a"], "feature_null_no_candidate": d["null"]["no_candidate"],
            "feature_null_runs": d["null"]["runs"]}
    if binary.tail is not None:
        g = binary.group_verdict.details
        glue |= {"tail_k": binary.tail["k"], "tail_size": g["tail_size"],
                 "head_robust": float(binary.tail["head_robust"].mean()),
                 "majority": evidence.majority_rate(binary.task.labels_test),
                 "tail_clean": float(binary.tail["clean"].mean()), "tail_robust": float(binary.tail["robust"].mean()),
                 "group_null_no_candidate": g["null"]["no_candidate"]}
    for key, name in (("binary", "binary"), ("multi", "multi-class")):
        r, s = rough.loc[name], studies[name]
        glue |= {f"{key}_rough_top": float(r[TOP]), f"{key}_rough_bottom": float(r[BOTTOM]),
                 f"{key}_rough_confirmed": float(r.get(CONFIRMED, float("nan"))),
                 f"{key}_rough_tail": float(r.get(TAIL, float("nan"))),
                 f"{key}_n_confirmed": int(s.confirmed.sum()), f"{key}_n_attacked": len(s.sample.index),
                 f"{key}_n_useful": s.classes.counts()["useful"], f"{key}_null": s.verdict.control_value,
                 f"{key}_decision": s.verdict.decision, f"{key}_reason": s.verdict.reason}
    metrics = {name: {"classes": list(s.task.class_names), "n_train": s.task.n_train, "n_test": s.task.n_test,
                      "attack": s.attack, "attacked_index": s.sample.index.tolist(),
                      "attacked_weight": s.sample.weight.tolist(), "counts": s.classes.counts(),
                      "confirmed_useful_non_robust": int(s.confirmed.sum()), "pictured": roles(s),
                      "verdicts": [v.to_dict() for v in s.verdicts], "tail": None if s.tail is None else {
                          "k": s.tail["k"], "clean": float(s.tail["clean"].mean()),
                          "robust": float(s.tail["robust"].mean()), "confirmed": s.tail_confirmed()},
                      "roughness": {k: float(v) for k, v in rough.loc[name].dropna().items()}}
               for name, s in studies.items()}
    return metrics, glue
