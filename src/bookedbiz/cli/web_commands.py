"""``bookedbiz serve``, ``users``, ``tokens`` and ``demo``: running the web dashboard."""

from __future__ import annotations

import os
from pathlib import Path

import click

from bookedbiz import users as user_service
from bookedbiz.cli.common import db_option, handle_errors
from bookedbiz.cli.databases import command_target
from bookedbiz.db.access import reading_from
from bookedbiz.db.migrate import require_current_schema
from bookedbiz.errors import BookedBizError

DEMO_DB = Path("var/demo/bookedbiz.db")


def _run_uvicorn(db: Path | str, host: str, port: int, workers: int) -> None:
    """Serve ``bookedbiz.web.asgi:app``; workers find the database through DATABASE_PATH, or
    DATABASE_URL for a PostgreSQL server."""
    import uvicorn

    if isinstance(db, Path):
        os.environ["DATABASE_PATH"] = str(db.resolve())
        os.environ.pop("DATABASE_URL", None)
    else:
        os.environ["DATABASE_URL"] = db
    uvicorn.run(
        "bookedbiz.web.asgi:app",
        host=host,
        port=port,
        workers=workers if workers > 1 else None,
        proxy_headers=False,
        server_header=False,
        log_level="info",
    )


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option("--workers", type=click.IntRange(1, 32), default=1, show_default=True,
              help="uvicorn worker processes.")
@db_option
@handle_errors
def serve_command(host: str, port: int, workers: int, db_path: Path | None) -> None:
    """Serve the web dashboard with uvicorn (bookedbiz.web.asgi:app)."""
    from bookedbiz.db.access import Database

    target = command_target(db_path)  # --db file or URL, DATABASE_URL, DATABASE_PATH
    require_current_schema(target)
    where = Database(target).describe()  # never the URL: it holds the password
    click.echo(f"Serving {where} on http://{host}:{port} ({workers} worker(s)).")
    _run_uvicorn(target, host, port, workers)


def _password(value: str | None, prompt: str = "Password") -> str:
    if value:
        return value
    return click.prompt(prompt, hide_input=True, confirmation_prompt=True)


@click.group("users")
def users_group() -> None:
    """Web users, their roles (admin, manager, finance, ae, viewer) and AE links."""


@users_group.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(user_service.ROLES), default="viewer",
              show_default=True)
@click.option("--name", "full_name", default=None, help="Full name shown in the app.")
@click.option("--ae", "ae_name", default=None,
              help="The AE whose book the user sees (required for --role ae).")
@click.option("--email", default=None, help="E-mail address (for digests).")
@click.option("--password", default=None, envvar="BOOKEDBIZ_NEW_PASSWORD",
              help="Password (prompted when omitted; or set BOOKEDBIZ_NEW_PASSWORD).")
@db_option
@handle_errors
def users_add(username: str, role: str, full_name: str | None, ae_name: str | None,
              email: str | None, password: str | None, db_path: Path | None) -> None:
    """Add a user who can sign in to the web dashboard."""
    target = command_target(db_path)
    if role in user_service.SCOPED_ROLES and not (ae_name or "").strip():
        raise BookedBizError(f"A user with the role {role} needs --ae \"AE Name\": the AE "
                             "whose book they see.")
    user_service.create_user(target, username, _password(password), role, full_name=full_name,
                             ae=ae_name, email=email)
    linked = f", book of {ae_name.strip()}" if (ae_name or "").strip() else ""
    click.echo(f"Added {username.strip().lower()} ({role}{linked}).")


@users_group.command("link")
@click.argument("username")
@click.option("--ae", "ae_name", default=None, help="The AE whose book the user sees "
              "('' to unlink).")
@click.option("--email", default=None, help="E-mail address ('' to clear).")
@db_option
@handle_errors
def users_link(username: str, ae_name: str | None, email: str | None,
               db_path: Path | None) -> None:
    """Link a user to an AE and/or set their e-mail address."""
    if ae_name is None and email is None:
        raise BookedBizError("Give --ae NAME and/or --email ADDRESS.")
    user_service.set_link(command_target(db_path), username, ae=ae_name, email=email)
    click.echo(f"{username} is updated.")


@users_group.command("sign-out")
@click.argument("username")
@db_option
@handle_errors
def users_sign_out(username: str, db_path: Path | None) -> None:
    """End every web session of a user (their API tokens keep working)."""
    user_service.end_sessions(command_target(db_path), username)
    click.echo(f"Every session of {username} is ended.")


@users_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="JSON instead of a table.")
@db_option
@handle_errors
def users_list(as_json: bool, db_path: Path | None) -> None:
    """List users, their roles and last sign-in."""
    with reading_from(command_target(db_path)) as conn:
        found = user_service.list_users(conn)
    if as_json:
        import json

        click.echo(json.dumps([u.public() for u in found], indent=2))
        return
    if not found:
        click.echo("No users yet; add one with 'bookedbiz users add NAME --role admin'.")
        return
    click.echo(f"{'USERNAME':<20} {'ROLE':<8} {'ACTIVE':<7} {'LAST SIGN-IN':<21} "
               f"{'AE':<20} NAME")
    for u in found:
        click.echo(f"{u.username:<20} {u.role:<8} {'yes' if u.is_active else 'no':<7} "
                   f"{u.last_login_at or '-':<21} {u.ae_name or '-':<20} {u.full_name or ''}")


@users_group.command("passwd")
@click.argument("username")
@click.option("--password", default=None, envvar="BOOKEDBIZ_NEW_PASSWORD",
              help="New password (prompted when omitted).")
@db_option
@handle_errors
def users_passwd(username: str, password: str | None, db_path: Path | None) -> None:
    """Reset a user's password: their sessions end and their API tokens are revoked."""
    revoked = user_service.set_password(command_target(db_path), username, _password(password))
    click.echo(f"Password of {username} changed; sessions ended, {revoked} API token(s) "
               "revoked.")


@users_group.command("disable")
@click.argument("username")
@click.option("--enable", is_flag=True, help="Re-enable instead of disabling.")
@db_option
@handle_errors
def users_disable(username: str, enable: bool, db_path: Path | None) -> None:
    """Disable a user (their sessions and API tokens stop working), or --enable again."""
    user_service.set_active(command_target(db_path), username, enable)
    click.echo(f"{username} {'enabled' if enable else 'disabled'}.")


@users_group.command("set-role")
@click.argument("username")
@click.argument("role", type=click.Choice(user_service.ROLES))
@click.option("--ae", "ae_name", default=None, help="Link to this AE too (for role ae).")
@db_option
@handle_errors
def users_set_role(username: str, role: str, ae_name: str | None, db_path: Path | None) -> None:
    """Change a user's role (their sessions end)."""
    user_service.set_role(command_target(db_path), username, role, ae=ae_name)
    click.echo(f"{username} is now {role}.")


@click.group("tokens")
def tokens_group() -> None:
    """API tokens for the JSON API (/api/v1/...), stored hashed."""


@tokens_group.command("create")
@click.argument("username")
@click.option("--name", required=True, help="What the token is for, e.g. 'Revenue Master.xlsx'.")
@db_option
@handle_errors
def tokens_create(username: str, name: str, db_path: Path | None) -> None:
    """Create a token for USERNAME and print it (it is shown only this once)."""
    token_id, token = user_service.create_token(command_target(db_path), username, name)
    click.echo(f"Token {token_id} for {username}: {token}")
    click.echo("Send it as 'Authorization: Bearer <token>'. It cannot be shown again.")


@tokens_group.command("list")
@click.option("--user", "username", default=None, help="Only this user's tokens.")
@db_option
@handle_errors
def tokens_list(username: str | None, db_path: Path | None) -> None:
    """List API tokens (never the tokens themselves)."""
    with reading_from(command_target(db_path)) as conn:
        found = user_service.list_tokens(conn, username)
    if not found:
        click.echo("No API tokens.")
        return
    for t in found:
        state = f"revoked {t.revoked_at}" if t.revoked_at else "active"
        click.echo(f"{t.token_id:>4}  {t.username:<16} {t.name:<30} created {t.created_at}  "
                   f"last used {t.last_used_at or '-'}  {state}")


@tokens_group.command("revoke")
@click.argument("token_id", type=int, required=False)
@click.option("--user", "username", default=None, help="Revoke every token of this user.")
@db_option
@handle_errors
def tokens_revoke(token_id: int | None, username: str | None, db_path: Path | None) -> None:
    """Revoke an API token by its id, or every token of --user NAME."""
    if (token_id is None) == (username is None):
        raise BookedBizError("Give either a token id or --user NAME.")
    if username is not None:
        revoked = user_service.revoke_all_tokens(command_target(db_path), username)
        click.echo(f"{revoked} token(s) of {username} revoked.")
        return
    user_service.revoke_token(command_target(db_path), token_id)
    click.echo(f"Token {token_id} revoked.")


@click.command("demo")
@click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path),
              default=DEMO_DB, show_default=True, help="Where the demo database lives.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option("--years", type=click.IntRange(1, 6), default=3, show_default=True)
@click.option("--rebuild", is_flag=True, help="Build a new demo database even if one exists.")
@click.option("--no-serve", is_flag=True, help="Build and print the login, but do not serve.")
@handle_errors
def demo_command(db_path: Path, port: int, years: int, rebuild: bool, no_serve: bool) -> None:
    """Build a realistic demo database (two-plus years of daily logs replayed, budgets,
    forecasts), create one demo user per role, and serve it on 127.0.0.1."""
    import time

    from bookedbiz.synth.demo import build_demo_database
    from bookedbiz.synth.demo_setup import ensure_demo_users

    db_path = db_path.expanduser()
    if rebuild and db_path.exists():
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    if db_path.exists():
        click.echo(f"Using the existing demo database {db_path} (--rebuild for a new one).")
    else:
        db_path.parent.mkdir(parents=True, exist_ok=True)
        click.echo(f"Building a demo database with {years} years of synthetic logs: {db_path}")
        started = time.perf_counter()
        building = db_path.with_name(db_path.name + ".building")  # an interrupted build
        for suffix in ("", "-wal", "-shm"):  # never passes for a finished one
            Path(f"{building}{suffix}").unlink(missing_ok=True)
        counts = build_demo_database(building, years=years, echo=click.echo)
        for suffix in ("-wal", "-shm", ""):  # the write-ahead log moves with its database
            if Path(f"{building}{suffix}").exists():
                Path(f"{building}{suffix}").replace(f"{db_path}{suffix}")
        click.echo(f"Built in {time.perf_counter() - started:.0f} s: "
                   f"{counts.get('daily_imports', 0)} daily logs and "
                   f"{counts.get('recap_imports', 0)} month closes imported.")
    logins = ensure_demo_users(db_path)
    url = f"http://127.0.0.1:{port}"
    admin = logins[0]
    click.echo("")
    click.echo(f"  Open      {url}")
    click.echo(f"  Username  {admin.username}")
    click.echo(f"  Password  {admin.password}")
    click.echo("")
    click.echo("  Every role has a demo user (role, username, password):")
    for login in logins:
        book = f"  (sees only {login.ae}'s book)" if login.ae else ""
        click.echo(f"    {login.role:<8} {login.username:<10} {login.password}{book}")
    click.echo("")
    if no_serve:
        return
    _run_uvicorn(db_path, "127.0.0.1", port, 1)


def register(cli: click.Group) -> None:
    """Add this module's commands to the root group."""
    cli.add_command(serve_command)
    cli.add_command(users_group)
    cli.add_command(tokens_group)
    cli.add_command(demo_command)
