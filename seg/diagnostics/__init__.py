"""What padding does inside a network, measured per padding mode on the same weights.

One file per diagnostic, each with its table and plot: shift consistency (shift.py), the
position probe (position.py), the border activation profile (border.py) and padding invariance
(invariance.py). Every diagnostic takes a model (a segmentation network of this project or any
classifier returning (N, K) logits) and a batch of normalised images; run.py runs them under
several padding modes.
"""
from seg.diagnostics.border import border_profile
from seg.diagnostics.invariance import padding_invariance
from seg.diagnostics.position import position_probe
from seg.diagnostics.run import DIAGNOSTICS, run_diagnostics
from seg.diagnostics.shift import shift_consistency

__all__ = ["DIAGNOSTICS", "border_profile", "padding_invariance", "position_probe",
           "run_diagnostics", "shift_consistency"]
