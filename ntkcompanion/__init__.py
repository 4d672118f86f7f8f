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
from ntkcompanion import convergence
from ntkcompanion import data
from ntkcompanion import dynamics
from ntkcompanion import evidence
from ntkcompanion import feature_attacks
from ntkcompanion import features
from ntkcompanion import kernels
from ntkcompanion import labels
from ntkcompanion import lazy_training
from ntkcompanion import losses
from ntkcompanion import parameters
from ntkcompanion import plotting
from ntkcompanion import predictor
from ntkcompanion import record
from ntkcompanion import resources
from ntkcompanion import sections
from ntkcompanion import similarity
from ntkcompanion import transfer
from ntkcompanion import validate

__version__ = "0.1.0"

__all__ = [
    "adversarial_training",
    "architectures",
    "attacks",
    "budget_sweeps",
    "cache",
    "convergence",
    "data",
    "dynamics",
    "evidence",
    "feature_attacks",
    "features",
    "kernels",
    "labels",
    "lazy_training",
    "losses",
    "parameters",
    "plotting",
    "predictor",
    "progress",
    "record",
    "resources",
    "sections",
    "similarity",
    "transfer",
    "validate",
]
