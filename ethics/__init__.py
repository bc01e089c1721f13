"""Explanations, fairness reports and the approval gate: no model is served without an approved report.

Reads registered models and held-out predictions (models) and equality attributes (features); never
imports serving.
"""
from ethics.approval import NotServable, decide, servable
from ethics.explain import contributions, reasons, sentences

__all__ = ["NotServable", "contributions", "decide", "reasons", "sentences", "servable"]
