"""Source contracts for council extracts: typed schemas, and loading that never drops a row silently."""
from features.sources._contract import Column, Table
from features.sources._loader import (LoadResult, SourceError, accepted_columns, load_table, table_files,
                                      write_quarantine)
from features.sources.catalogue import BY_PATH, TABLES, markdown
from features.sources.fingerprint import extracts_fingerprint

__all__ = ["BY_PATH", "TABLES", "Column", "LoadResult", "SourceError", "Table", "accepted_columns",
           "extracts_fingerprint", "load_table", "markdown", "table_files", "write_quarantine"]
