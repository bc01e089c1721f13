"""Who may do what: one table, checked on the server for every page and action.

Caseworkers and team managers see households only in the wards they are assigned (`--ward`); a team is
the people assigned the same wards. Analysts and the ethics board see models and aggregates, never a
household. Admins run accounts, tokens and the audit log.
"""
from __future__ import annotations

ROLES = ("caseworker", "team-manager", "analyst", "ethics-board", "admin")
ROLE_NAMES = {"caseworker": "Caseworker", "team-manager": "Team manager", "analyst": "Analyst",
              "ethics-board": "Ethics board", "admin": "Admin"}

MAY = {
    "priority list": {"caseworker", "team-manager"},
    "household": {"caseworker", "team-manager"},
    "record action": {"caseworker", "team-manager"},
    "team": {"team-manager"},
    "model versions": {"ethics-board", "analyst"},
    "decide": {"ethics-board"},
    "performance": {"analyst", "ethics-board"},
    "admin": {"admin"},
}

# Where each role lands after signing in, and the navigation it sees (label, path, permission).
HOME = {"caseworker": "/list", "team-manager": "/list", "analyst": "/performance", "ethics-board": "/models",
        "admin": "/admin/users"}
NAVIGATION = [("Priority list", "/list", "priority list"), ("Team", "/team", "team"),
              ("Models", "/models", "model versions"), ("Performance", "/performance", "performance"),
              ("Users", "/admin/users", "admin"), ("API tokens", "/admin/tokens", "admin"),
              ("Audit log", "/admin/audit", "admin")]
# The permission each page needs, so that signing in never returns someone to a page their role may not open
PAGES = {"list": "priority list", "households": "household", "team": "team", "models": "model versions",
         "performance": "performance", "admin": "admin"}


def normalised_role(role: str) -> str:
    """ROLE as stored: 'team_manager', 'Team manager' and 'team-manager' are one role."""
    found = role.strip().lower().replace("_", "-").replace(" ", "-")
    if found not in ROLES:
        raise ValueError(f"unknown role {role!r}; choose from {', '.join(ROLES)}")
    return found


def may(role: str, permission: str) -> bool:
    return role in MAY[permission]


def landing(role: str, asked: str | None) -> str:
    """Where ROLE goes after signing in: the page they asked for if their role may open it, else their start."""
    section = (asked or "").split("?")[0].strip("/").split("/")[0]
    return asked if asked and section in PAGES and may(role, PAGES[section]) else HOME[role]


def sees_ward(wards: tuple[str, ...], ward: str | None) -> bool:
    """Household pages are limited to the wards a caseworker or manager is assigned."""
    return ward is not None and ward in wards
