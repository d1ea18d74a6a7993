"""Sign in, sign out, and a user's own account: password and personal API tokens."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_user, logout_user

from bookedbiz import users
from bookedbiz.errors import BookedBizError
from bookedbiz.web.auth import WebUser, actor_name, safe_next, throttle
from bookedbiz.web.db import db_path, read_conn

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login():  # noqa: ANN201
    nxt = request.values.get("next")
    if current_user.is_authenticated and request.method == "GET":
        return redirect(safe_next(nxt))
    if request.method == "GET":
        return render_template("login.html", next=nxt or "", username="")
    username = (request.form.get("username") or "").strip().lower()[:64]
    password = request.form.get("password") or ""
    address = request.remote_addr or "?"
    wait = throttle().retry_after(username, address)
    if wait:
        minutes = max(1, round(wait / 60))
        message = (
            f"Too many failed sign-ins for this user; try again in about {minutes} minute"
            f"{'s' if minutes != 1 else ''}."
        )
        return render_template(
            "login.html", next=nxt or "", username=username, error=message
        ), 429, {"Retry-After": str(wait)}
    user = users.authenticate(read_conn(), username, password)
    if user is None:
        throttle().failed(username, address)
        current_app.logger.warning("Failed sign-in for %r from %s", username, address)
        return render_template(
            "login.html",
            next=nxt or "",
            username=username,
            error="The username or password is not right (or the account is disabled).",
        ), 401
    throttle().succeeded(username, address)
    session.clear()  # a fresh session: no fixation across the login
    session.permanent = True
    login_user(WebUser(user))
    try:
        users.record_login(db_path(), user.user_id)
    except BookedBizError as exc:  # a busy database must not block signing in
        current_app.logger.warning("Could not record the login time: %s", exc)
    return redirect(safe_next(nxt))


@bp.post("/logout")
def logout():  # noqa: ANN201
    logout_user()
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


@bp.get("/account")
def account():  # noqa: ANN201
    tokens = users.list_tokens(read_conn(), current_user.username)
    return render_template("account.html", title="My account", tokens=tokens, new_token=None)


@bp.post("/account/password")
def change_password():  # noqa: ANN201
    current = request.form.get("current_password") or ""
    new = request.form.get("new_password") or ""
    confirm = request.form.get("confirm_password") or ""
    if users.authenticate(read_conn(), current_user.username, current) is None:
        flash("The current password is not right.", "error")
    elif new != confirm:
        flash("The new passwords do not match.", "error")
    else:
        try:
            users.set_password(db_path(), current_user.username, new, actor=actor_name())
            flash("Your password is changed.", "success")
        except BookedBizError as exc:
            flash(str(exc), "error")
    return redirect(url_for("auth.account"))


@bp.post("/account/tokens")
def create_token():  # noqa: ANN201
    try:
        _, token = users.create_token(
            db_path(), current_user.username, request.form.get("name") or "", actor=actor_name()
        )
    except BookedBizError as exc:
        flash(str(exc), "error")
        return redirect(url_for("auth.account"))
    tokens = users.list_tokens(read_conn(), current_user.username)
    return render_template("account.html", title="My account", tokens=tokens, new_token=token)


@bp.post("/account/tokens/<int:token_id>/revoke")
def revoke_token(token_id: int):  # noqa: ANN201
    try:
        users.revoke_token(db_path(), token_id, username=current_user.username, actor=actor_name())
    except BookedBizError:
        abort(404)
    flash("The token is revoked.", "success")
    return redirect(url_for("auth.account"))
