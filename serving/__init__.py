"""The BentoML service: scoring and explanation APIs and the caseworker dashboard, for approved models only.

Public API: none yet (the serving issue builds it). Reads only what models and ethics publish.
"""
__all__: list[str] = []
