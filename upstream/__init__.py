"""The `upstream` command line and the configuration every stage shares ($UPSTREAM_HOME)."""
from upstream.config import home, project_root, secret_key

__all__ = ["home", "project_root", "secret_key"]
