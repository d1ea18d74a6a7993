"""Admin pages: data stewardship (auto-created customers, merges, AE aliases, markets) and users.

Every route here is admin-only, checked on the server; writes go through the service functions
(which audit them), never through SQL in the web layer.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from bookedbiz import permissions, users
from bookedbiz.errors import BookedBizError
from bookedbiz.reports import admin_lists
from bookedbiz.reports import stewardship as steward_report
from bookedbiz.web.auth import actor_name, requires
from bookedbiz.web.db import db_path, read_conn
from bookedbiz.web.view import act

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _stewardship():  # noqa: ANN202 - imported late: the module belongs to the data core
    from bookedbiz.entities import stewardship

    return stewardship


@bp.get("/stewardship")
@requires("steward_data")
def stewardship():  # noqa: ANN201
    conn = read_conn()
    kind = "agency" if request.args.get("kind") == "agency" else "customer"
    keep_q = (request.args.get("keep_q") or "").strip()[:100]
    dup_q = (request.args.get("dup_q") or "").strip()[:100]
    return render_template(
        "admin/stewardship.html",
        title="Data stewardship",
        auto_created=steward_report.auto_created_customers(conn),
        history=steward_report.merge_history(conn),
        aliases=admin_lists.ae_aliases(conn),
        ae_names=admin_lists.ae_names(conn),
        markets=admin_lists.markets(conn),
        kind=kind,
        keep_q=keep_q,
        dup_q=dup_q,
        keep_matches=steward_report.search_entities(conn, kind, keep_q) if keep_q else [],
        dup_matches=steward_report.search_entities(conn, kind, dup_q) if dup_q else [],
    )


def _int(name: str) -> int | None:
    value = (request.form.get(name) or "").strip().lstrip("#")
    return int(value) if value.isdigit() else None


@bp.post("/stewardship/merge")
@requires("steward_data")
def merge():  # noqa: ANN201
    survivor, merged = _int("survivor_id"), _int("merged_id")
    kind = "agency" if request.form.get("kind") == "agency" else "customer"
    if survivor is None or merged is None:
        flash(f"Choose both {kind} records: the one to keep and the duplicate.", "error")
    elif survivor == merged:
        flash(f"A {kind} cannot be merged into itself.", "error")
    else:
        def merge_them() -> str:
            merge = (_stewardship().merge_agencies if kind == "agency"
                     else _stewardship().merge_customers)
            detail = merge(db_path(), survivor, merged, actor_name())
            return (f"{kind.title()} #{merged} {detail['merged']} is merged into #{survivor} "
                    f"{detail['survivor']}: {detail['spots_moved']} spots moved and later "
                    "imports will land on the survivor. Undo it from the merge history.")

        return act(merge_them, "admin.stewardship")
    return redirect(url_for("admin.stewardship"))


@bp.post("/stewardship/ae-alias")
@requires("steward_data")
def ae_alias():  # noqa: ANN201
    alias = (request.form.get("alias") or "").strip()
    ae = (request.form.get("ae") or "").strip()
    if not alias or not ae:
        flash("Give the sales-person text and the AE it means.", "error")
    else:
        def add_alias() -> str:
            _stewardship().add_ae_alias(db_path(), alias[:200], ae[:200], actor_name())
            return f"'{alias}' now counts as {ae}."

        return act(add_alias, "admin.stewardship")
    return redirect(url_for("admin.stewardship"))


@bp.get("/users")
@requires("manage_users")
def users_page():  # noqa: ANN201
    conn = read_conn()
    return render_template(
        "admin/users.html",
        title="Users",
        users=users.list_users(conn),
        roles=users.ROLES,
        scoped_roles=users.SCOPED_ROLES,
        ae_names=admin_lists.ae_names(conn),
        tokens=users.list_tokens(conn),
        permission_table=sorted(permissions.ACTIONS.items()),
    )


@bp.post("/users")
@requires("manage_users")
def add_user():  # noqa: ANN201
    form = request.form

    def add_user() -> str:
        users.create_user(db_path(), form.get("username") or "", form.get("password") or "",
                          form.get("role") or "", full_name=form.get("full_name"),
                          ae=form.get("ae"), email=form.get("email"), actor=actor_name())
        return f"User {form.get('username', '').strip().lower()} is added."

    return act(add_user, "admin.users_page")


def _is_me(username: str) -> bool:
    """Whether the URL's user is the admin acting (names compared as stored: lower-cased)."""
    try:
        return users.normalize_username(username) == current_user.username
    except BookedBizError:
        return False


@bp.post("/users/<username>/role")
@requires("manage_users")
def set_role(username: str):  # noqa: ANN201
    role = request.form.get("role") or ""

    def change_role() -> str:
        users.set_role(db_path(), username, role, ae=request.form.get("ae"),
                       actor=actor_name())
        return f"{username} is now {role}; their sessions are signed out."

    return act(change_role, "admin.users_page")


@bp.post("/users/<username>/link")
@requires("manage_users")
def set_link(username: str):  # noqa: ANN201
    def change_link() -> str:
        users.set_link(db_path(), username, ae=request.form.get("ae"),
                       email=request.form.get("email"), actor=actor_name())
        return f"The AE and e-mail of {username} are saved."

    return act(change_link, "admin.users_page")


@bp.post("/users/<username>/active")
@requires("manage_users")
def set_active(username: str):  # noqa: ANN201
    active = request.form.get("active") == "1"
    if not active and _is_me(username):
        flash("You cannot disable your own account.", "error")
        return redirect(url_for("admin.users_page"))

    def change_active() -> str:
        users.set_active(db_path(), username, active, actor=actor_name())
        return f"{username} is {'enabled' if active else 'disabled'}."

    return act(change_active, "admin.users_page")


@bp.post("/users/<username>/password")
@requires("manage_users")
def reset_password(username: str):  # noqa: ANN201
    def change_password() -> str:
        revoked = users.set_password(db_path(), username, request.form.get("password") or "",
                                     actor=actor_name())
        return (f"The password of {username} is changed; their sessions are signed out and "
                f"{revoked} API token{'s' if revoked != 1 else ''} revoked.")

    return act(change_password, "admin.users_page")


@bp.post("/users/<username>/tokens/revoke")
@requires("manage_users")
def revoke_tokens(username: str):  # noqa: ANN201
    def revoke_all() -> str:
        revoked = users.revoke_all_tokens(db_path(), username, actor=actor_name())
        return f"{revoked} API token{'s' if revoked != 1 else ''} of {username} revoked."

    return act(revoke_all, "admin.users_page")
