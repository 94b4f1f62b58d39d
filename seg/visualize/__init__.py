"""Figures of the paper's comparisons: prediction panels (figures 6, 8), activation maps (figure 5)
and plots."""
from seg.visualize.activations import (
           activation_figure,
           activation_maps,
           default_layers,
           relu_layers,
)
from seg.visualize.colors import colorize, image_to_rgb, palette
from seg.visualize.contact_sheet import contact_sheet
from seg.visualize.panels import comparison_figure
from seg.visualize.picking import (
           border_diff_score,
           near_border_mask,
           pick_most_different,
)
from seg.visualize.plots import distance_figure, leave_out_figure, training_figure

__all__ = [
    "activation_figure",
    "activation_maps",
    "border_diff_score",
    "colorize",
    "comparison_figure",
    "contact_sheet",
    "default_layers",
    "distance_figure",
    "image_to_rgb",
    "leave_out_figure",
    "near_border_mask",
    "palette",
    "pick_most_different",
    "relu_layers",
    "training_figure",
]
