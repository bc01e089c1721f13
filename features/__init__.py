"""Features: source contracts for council extracts (features.sources), and later record linkage and
point-in-time feature pipelines. Never reads truth/.
"""
from features import sources

__all__ = ["sources"]
