"""Numbers from the authors' released notebook, for comparison beside ours where the set-up matches.

One set-up only: the FC-1 NTK (one hidden layer, fully connected) on CIFAR-10 airplane vs
automobile, 2000 training / 100 test images, the kernel predictor at t = ∞, attacks at
ε = 8/255. The page shows these beside a run only when its set-up matches
(:func:`matches`); otherwise as context ("authors' set-up: ...").
"""

__all__ = ["AUTHORS_SETUP", "AUTHORS_SETUP_TEXT", "PREDICTOR_ACCURACY", "FEATURE_ACCURACY", "matches"]

AUTHORS_SETUP = {"DATASET": "cifar10", "CLASSES": ["airplane", "automobile"], "ARCHITECTURE": "fc", "DEPTH": 1,
                 "N_TRAIN": 2000, "N_TEST": 100, "EPS": 8 / 255}
# CIFAR-10 class indices of airplane and automobile, for runs that name classes by number.
_CLASS_ALIASES = {0: "airplane", 1: "automobile"}
AUTHORS_SETUP_TEXT = ("FC-1 NTK, CIFAR-10 airplane vs automobile, 2000 train / 100 test, t = ∞, ε = 8/255 "
                      "(the authors' released notebook)")

# The kernel predictor f_∞: clean and attacked test accuracy.
PREDICTOR_ACCURACY = {"clean": 0.81, "FGSM": 0.02, "PGD": 0.02}

# Single eigen-features φ_i by index: (clean accuracy, FGSM accuracy).
FEATURE_ACCURACY = {0: (0.50, 0.50), 1: (0.68, 0.49), 3: (0.61, 0.44), 10: (0.59, 0.25), 25: (0.51, 0.07),
                    1500: (0.47, 0.00), 1987: (0.57, 0.00)}


def matches(parameters: dict) -> bool:
    """Whether a run's parameters reproduce the authors' set-up (every key of ``AUTHORS_SETUP`` equal)."""
    for name, value in AUTHORS_SETUP.items():
        ours = parameters.get(name)
        if isinstance(value, float):
            if not isinstance(ours, (int, float)) or abs(ours - value) > 1e-6:
                return False
        elif name == "CLASSES":
            if [_CLASS_ALIASES.get(c, c) for c in (ours or [])] != value:
                return False
        elif ours != value:
            return False
    return True
