"""Who may do what, in one table (SPEC §2, Roles and permissions).

The web app checks this table on the server for every route (``web.auth.requires``) and templates
ask the same table through ``can(...)``; nothing else decides. The command line is for the
operator: whoever can write the database file may run any command.
"""

from __future__ import annotations

ROLES = ("admin", "manager", "finance", "ae", "viewer")

ACTIONS: dict[str, frozenset[str]] = {
    # Reading reports: everyone signed in. An ``ae`` sees only their own book (the report
    # queries are scoped through ReportFilters.scope_ae_id), everyone else every book.
    "read_reports": frozenset(ROLES),
    "see_every_book": frozenset({"admin", "manager", "finance", "viewer"}),
    # Station-wide operational pages (month totals, import batches with their per-month
    # changes): they show every book's figures, so an AE does not get them.
    "read_months": frozenset({"admin", "manager", "finance", "viewer"}),
    "read_imports": frozenset({"admin", "manager", "finance", "viewer"}),
    # Months and imports belong to finance (a historical import closes every month it holds).
    "close_month": frozenset({"admin", "finance"}),
    "reopen_month": frozenset({"admin", "finance"}),
    "import_workbook": frozenset({"admin", "finance"}),
    # Planning: managers set budgets and anyone's forecast; an AE forecasts their own book.
    "edit_budgets": frozenset({"admin", "manager"}),
    "edit_any_forecast": frozenset({"admin", "manager"}),
    "edit_own_forecast": frozenset({"admin", "manager", "ae"}),
    "see_team_scoreboard": frozenset({"admin", "manager", "finance", "viewer"}),
    # Data and people.
    "steward_data": frozenset({"admin"}),
    "manage_users": frozenset({"admin"}),
    "use_api_tokens": frozenset(ROLES),
    # One's own account: password, signing out everywhere, one's own tokens.
    "manage_own_account": frozenset(ROLES),
    "receive_digests": frozenset(ROLES),
}


def can(role: str | None, action: str) -> bool:
    """True when ``role`` may perform ``action``; an unknown action is a programming error."""
    return role in ACTIONS[action]


def roles_for(action: str) -> tuple[str, ...]:
    """The roles allowed ``action``, in ROLES order (for messages and docs)."""
    return tuple(role for role in ROLES if role in ACTIONS[action])
