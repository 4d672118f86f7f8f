"""Section 7's picture helpers on planted labels and verdicts."""

from types import SimpleNamespace

import numpy as np

from ntkcompanion import evidence, feature_pictures as fp


def test_pick_images_takes_the_classes_in_turn():
    labels = np.array([2, 0, 0, 1, 2, 1, 0])
    # First image of class 0, 1, 2, then the second of each.
    np.testing.assert_array_equal(fp.pick_images(labels, 5), [1, 3, 0, 2, 5])
    assert len(fp.pick_images(labels, 99)) == 7


def _study(decision, feature=1):
    dec = SimpleNamespace(resolved=np.array([True, True, True, False]))
    sample = SimpleNamespace(index=np.array([0, 2, 3]))
    verdict = SimpleNamespace(decision=decision, details={"feature": feature})
    return SimpleNamespace(dec=dec, sample=sample, verdict=verdict)


def test_roles_add_the_confirmed_feature_only_when_supported():
    supported = fp.roles(_study(evidence.Decision.SUPPORTED))
    assert supported == {fp.TOP: 0, fp.BOTTOM: 2, fp.CONFIRMED: 2}
    for decision in (evidence.Decision.NOT_SUPPORTED, evidence.Decision.UNDETERMINED):
        assert fp.roles(_study(decision)) == {fp.TOP: 0, fp.BOTTOM: 2}
