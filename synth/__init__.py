"""The synthetic borough: a calibrated simulation of a council's extracts with a hidden ground truth.

Writes DIR/extracts/<system>/... (what council systems export, messy) and DIR/truth/ (the crosswalk,
the oracle's probabilities and outcomes). Nothing in features/ or models/ may read truth/.
"""
from synth.borough import BoroughSpec, generate
from synth.calibration import TARGETS, calibration_table, oracle_skill
from synth.evaluation import linkage_report, oracle
from synth.scenarios import SCENARIOS

__all__ = ["SCENARIOS", "TARGETS", "BoroughSpec", "calibration_table", "generate", "linkage_report", "oracle",
           "oracle_skill"]
