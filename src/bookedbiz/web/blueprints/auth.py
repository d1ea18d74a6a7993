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
from flask_login import current_user, logout_user

from bookedbiz import users
from bookedbiz.errors import BookedBizError
from bookedbiz.web.auth import actor_name, requires, safe_next, start_session, throttle
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
    blocked = throttle().blocked(username, address)
    if blocked:
        kind, wait = blocked
        minutes = max(1, round(wait / 60))
        who = "on this server" if kind == "all" else "for this user"
        message = (
            f"Too many failed sign-ins {who}; try again in about {minutes} minute"
            f"{'s' if minutes != 1 else ''}."
        )
        current_app.logger.warning("Sign-in refused (%s limit) for %r from %s", kind,
                                   username, address)
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
    start_session(user)  # a fresh session: no fixation across the login
    try:
        users.record_login(db_path(), user.user_id)
    except BookedBizError as exc:  # a busy database must not block signing in
        current_app.logger.warning("Could not record the login time: %s", exc)
    if not nxt:  # no page asked for: an AE lands on My book, a manager on the scoreboard
        from bookedbiz.web.blueprints.home import landing_endpoint

        return redirect(url_for(landing_endpoint(user.role)))
    return redirect(safe_next(nxt))


def _end_sessions_here_and_everywhere() -> None:
    """Bump the user's session version (every copy of every session cookie stops working),
    then forget this browser's session."""
    try:
        users.end_sessions(db_path(), current_user.username, actor=actor_name())
    except BookedBizError as exc:  # the cookie is still cleared; say the rest did not happen
        current_app.logger.error("Could not end the sessions of %s: %s",
                                 current_user.username, exc)
        flash("The database is busy: this browser is signed out, but other sessions may "
              "continue; try 'Sign out everywhere' again.", "error")
    logout_user()
    session.clear()


@bp.post("/logout")
@requires("manage_own_account")
def logout():  # noqa: ANN201
    _end_sessions_here_and_everywhere()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


@bp.post("/account/sign-out-everywhere")
@requires("manage_own_account")
def sign_out_everywhere():  # noqa: ANN201
    _end_sessions_here_and_everywhere()
    flash("You are signed out on every browser and device.", "info")
    return redirect(url_for("auth.login"))


@bp.get("/account")
@requires("manage_own_account")
def account():  # noqa: ANN201
    from bookedbiz.web.blueprints.home import own_digests

    tokens = users.list_tokens(read_conn(), current_user.username)
    return render_template("account.html", title="My account", tokens=tokens, new_token=None,
                           digests=own_digests())


@bp.post("/account/password")
@requires("manage_own_account")
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
            users.set_password(db_path(), current_user.username, new, actor=actor_name(),
                               revoke_tokens=False)
        except BookedBizError as exc:
            flash(str(exc), "error")
        else:
            # Every other session has ended; this browser continues under the new version.
            conn = read_conn()
            conn.rollback()  # end the request's snapshot: read the new session version
            start_session(users.get_user(conn, current_user.user.user_id),
                          keep_login_time=True)
            flash("Your password is changed and your other sessions are signed out.",
                  "success")
    return redirect(url_for("auth.account"))


@bp.post("/account/tokens")
@requires("use_api_tokens")
def create_token():  # noqa: ANN201
    try:
        _, token = users.create_token(
            db_path(), current_user.username, request.form.get("name") or "", actor=actor_name()
        )
    except BookedBizError as exc:
        flash(str(exc), "error")
        return redirect(url_for("auth.account"))
    from bookedbiz.web.blueprints.home import own_digests

    tokens = users.list_tokens(read_conn(), current_user.username)
    return render_template("account.html", title="My account", tokens=tokens, new_token=token,
                           digests=own_digests())


@bp.post("/account/tokens/<int:token_id>/revoke")
@requires("use_api_tokens")
def revoke_token(token_id: int):  # noqa: ANN201
    try:
        users.revoke_token(db_path(), token_id, username=current_user.username, actor=actor_name())
    except BookedBizError:
        abort(404)
    flash("The token is revoked.", "success")
    return redirect(url_for("auth.account"))
