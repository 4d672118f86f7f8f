"""The book's figures: one seaborn house style, one function per figure kind.

Every function returns its ``matplotlib.figure.Figure`` so a notebook cell can show
it, save it, or add to it; none calls ``plt.show``. Grouped by the sections that use
them; import everything from here.
"""

from ntkcompanion.plotting._style import PALETTE, set_style
from ntkcompanion.plotting._kernels import (
    kernel_convergence,
    accuracy_vs_time,
)
from ntkcompanion.plotting._attacks import (
    transfer_vs_width,
    laziness_vs_width,
    accuracy_vs_budget,
    adversarial_examples,
    adversarial_grid,
)
from ntkcompanion.plotting._features import (
    eigenvalue_spectrum,
    feature_accuracy,
    feature_gradients,
    learned_early,
    learned_early_intervals,
    head_tail_accuracy,
    feature_profiles,
    eigenspace_overlap,
    feature_agreement_heatmap,
    feature_pictures,
    feature_gallery,
    gradient_roughness,
)
from ntkcompanion.plotting._evidence import verdict_forest
from ntkcompanion.plotting._dynamics import (
    kernel_distance_heatmaps,
    polar_dynamics,
    spectral_mass,
    linearisation,
    kernel_measures,
    linearisation_search,
)

__all__ = [
    "PALETTE",
    "set_style",
    "kernel_convergence",
    "accuracy_vs_time",
    "transfer_vs_width",
    "laziness_vs_width",
    "accuracy_vs_budget",
    "adversarial_examples",
    "adversarial_grid",
    "eigenvalue_spectrum",
    "feature_accuracy",
    "feature_gradients",
    "learned_early",
    "learned_early_intervals",
    "head_tail_accuracy",
    "feature_profiles",
    "eigenspace_overlap",
    "feature_agreement_heatmap",
    "feature_pictures",
    "feature_gallery",
    "gradient_roughness",
    "kernel_distance_heatmaps",
    "polar_dynamics",
    "spectral_mass",
    "linearisation",
    "kernel_measures",
    "linearisation_search",
    "verdict_forest",
]
