"""ntkcompanion: the NTK's view of adversarial robustness, in JAX.

A small package behind the companion book to Tsilivis & Kempe (NeurIPS 2022): the
paper's architectures and their kernels (via neural-tangents), kernel predictors,
training-free attacks and eigen-features. Importing it never imports TensorFlow
(see ``ntkcompanion._nt``).
"""

from ntkcompanion import architectures
from ntkcompanion import attacks
from ntkcompanion import cache
from ntkcompanion import data
from ntkcompanion import dynamics
from ntkcompanion import features
from ntkcompanion import finite
from ntkcompanion import kernels
from ntkcompanion import losses
from ntkcompanion import plotting
from ntkcompanion import predictor
from ntkcompanion import record
from ntkcompanion import similarity
from ntkcompanion import training
from ntkcompanion import transfer
from ntkcompanion import validate

__version__ = "0.1.0"

__all__ = [
    "architectures",
    "attacks",
    "cache",
    "data",
    "dynamics",
    "features",
    "finite",
    "kernels",
    "losses",
    "plotting",
    "predictor",
    "record",
    "similarity",
    "training",
    "transfer",
    "validate",
]
