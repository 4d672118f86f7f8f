"""ntkcompanion: the NTK's view of adversarial robustness, in JAX.

A small package behind the companion book to Tsilivis & Kempe (NeurIPS 2022): the
paper's architectures and their kernels (via neural-tangents), kernel predictors,
training-free attacks and eigen-features. Importing it never imports TensorFlow
(see ``ntkcompanion._nt``).
"""

# progress first: it silences the TqdmWarning that pooch's import of tqdm.auto raises in a
# notebook without ipywidgets (cache imports pooch).
from ntkcompanion import progress  # isort: skip
from ntkcompanion import adversarial_training
from ntkcompanion import architectures
from ntkcompanion import attacks
from ntkcompanion import budget_sweeps
from ntkcompanion import cache
from ntkcompanion import consistency
from ntkcompanion import convergence
from ntkcompanion import cost
from ntkcompanion import data
from ntkcompanion import decomposition
from ntkcompanion import dynamics
from ntkcompanion import evidence
from ntkcompanion import feature_attacks
from ntkcompanion import feature_pictures
from ntkcompanion import features
from ntkcompanion import kernels
from ntkcompanion import labels
from ntkcompanion import laziness
from ntkcompanion import lazy_training
from ntkcompanion import losses
from ntkcompanion import parameters
from ntkcompanion import plotting
from ntkcompanion import predictor
from ntkcompanion import record
from ntkcompanion import sections
from ntkcompanion import similarity
from ntkcompanion import training_steps
from ntkcompanion import transfer
from ntkcompanion import validate
from ntkcompanion._version import __version__

__all__ = [
    "adversarial_training",
    "architectures",
    "attacks",
    "budget_sweeps",
    "cache",
    "consistency",
    "convergence",
    "cost",
    "data",
    "decomposition",
    "dynamics",
    "evidence",
    "feature_attacks",
    "feature_pictures",
    "features",
    "kernels",
    "labels",
    "laziness",
    "lazy_training",
    "losses",
    "parameters",
    "plotting",
    "predictor",
    "progress",
    "record",
    "sections",
    "similarity",
    "training_steps",
    "transfer",
    "validate",
    "__version__",
]
