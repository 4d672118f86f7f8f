"""Section 7's picture helpers on planted labels and verdicts."""

from types import SimpleNamespace

import numpy as np

from ntkcompanion import evidence, feature_pictures as fp


def test_pick_images_takes_the_classes_in_turn():
    labels = np.array([2, 0, 0, 1, 2, 1, 0])
    # First image of class 0, 1, 2, then the second of each.
    np.testing.assert_array_equal(fp.pick_images(labels, 5), [1, 3, 0, 2, 5])
    assert len(fp.pick_images(labels, 99)) == 7


def _study(decision, feature=1, group=None, **details):
    dec = SimpleNamespace(resolved=np.array([True, True, True, False]))
    sample = SimpleNamespace(index=np.array([0, 2, 3]))
    verdict = SimpleNamespace(decision=decision, details={"feature": feature, **details})
    group_verdict = None if group is None else SimpleNamespace(decision=group, details={"k": 20})
    return SimpleNamespace(dec=dec, sample=sample, verdict=verdict, group_verdict=group_verdict)


def test_roles_add_the_confirmed_feature_only_when_supported():
    supported = fp.roles(_study(evidence.Decision.SUPPORTED))
    assert supported == {fp.TOP: 0, fp.BOTTOM: 2, fp.CONFIRMED: 2}
    for decision in (evidence.Decision.NOT_SUPPORTED, evidence.Decision.UNDETERMINED):
        assert fp.roles(_study(decision)) == {fp.TOP: 0, fp.BOTTOM: 2}


def test_roles_show_only_the_confirmed_candidates():
    sup, no = evidence.Decision.SUPPORTED, evidence.Decision.NOT_SUPPORTED
    assert fp.roles(_study(no, group=sup)) == {fp.TOP: 0, fp.BOTTOM: 2, fp.TAIL: 20}
    assert fp.roles(_study(sup, group=sup)) == {fp.TOP: 0, fp.BOTTOM: 2, fp.CONFIRMED: 2, fp.TAIL: 20}
    assert fp.roles(_study(no, group=no)) == {fp.TOP: 0, fp.BOTTOM: 2}


def test_candidate_names_the_selected_feature_or_none():
    picked = _study(evidence.Decision.NOT_SUPPORTED, candidate=True, label="feature φ_7")
    assert fp.candidate(picked) == "feature φ_7"
    assert fp.candidate(_study(evidence.Decision.UNDETERMINED, candidate=False)) == "no candidate"


def test_tail_k_is_the_leading_features_within_the_spectrum():
    assert fp.tail_k(SimpleNamespace(N_LEADING=20), 400) == 20
    assert fp.tail_k(SimpleNamespace(N_LEADING=0), 400) == 1
    assert fp.tail_k(SimpleNamespace(N_LEADING=50), 40) == 39


def test_tail_group_is_attacked_and_decided_on_a_tiny_task():
    """study() on a small binary task: the tail group is Σ_(i>k) φ_i = f∞ − head, and reaches the verdict."""
    from ntkcompanion import data

    p = SimpleNamespace(DATASET="mnist_embedded", ARCHITECTURE="fc", DEPTH=1, BATCH_SIZE=64, RCOND=1e-5,
                        N_LEADING=4, N_SAMPLED=4, N_PERMUTATIONS=3, SEED=0, EPS=0.1, ATTACK_STEPS=0,
                        ATTACK_STEP_SIZE=0.1, FEATURE_CHUNK=16)
    task = data.load_task(p.DATASET, [3, 5], n_train=30, n_test=24, seed=0)
    s = fp.study(task, p)
    assert s.tail["k"] == 4 and s.tail["clean"].shape == (24,) and len(s.classes.useful) == len(s.sample.index)
    head_tail = s.dec.values(s.dec.head_tail(task.y_train, 4))          # (n_test, 2)
    expected = np.sign(head_tail[:, 1]) == task.y_test
    np.testing.assert_array_equal(s.tail["clean"], expected)
    assert [v.key for v in s.verdicts] == ["claim6_feature", "claim6_group"] and s.group_verdict.details["k"] == 4
    assert s.group_verdict.details["tail_size"] == int(s.dec.resolved.sum()) - 4
