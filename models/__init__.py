"""Risk models (homelessness, fuel poverty): temporal validation, calibration, baselines, MLflow registry.

Public API: none yet (the models issue builds it). Reads features only; never reads truth/.
"""
__all__: list[str] = []
