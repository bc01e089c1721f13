"""Fairness and explainability reports, model cards, ATRS records and the approval gate.

Public API: none yet (the ethics issue builds it). Reads registered models and their test windows.
"""
__all__: list[str] = []
