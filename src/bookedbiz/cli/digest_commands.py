"""``bookedbiz digest …``: send, preview and subscribe to the weekly pacing and daily "what
changed" digests. Figures come from reports.digest, delivery from jobs.digest_send; this module
only parses options and prints one line per message (targets as scheme and host only)."""

from __future__ import annotations

from pathlib import Path

import click

from bookedbiz.cli.common import (
    as_of_day,
    db_option,
    handle_errors,
    read_connection,
    settings,
)
from bookedbiz.cli.databases import command_target
from bookedbiz.errors import EXIT_FAILURE, NotFoundError

KIND = click.Choice(["weekly", "daily"])


@click.group("digest")
def digest_group() -> None:
    """Weekly pacing and daily what-changed digests by e-mail or any Apprise URL."""


@digest_group.command("send")
@click.argument("kind", type=KIND)
@click.option("--as-of", "as_of", default=None, help="The books' day (default: today).")
@click.option("--user", "username", default=None, help="Only this user's subscriptions.")
@click.option("--force", is_flag=True, help="Send again even if already sent for this period.")
@db_option
@handle_errors
def send_command(kind: str, as_of: str | None, username: str | None, force: bool,
                 db_path: Path | None) -> None:
    """Send the KIND digest to every subscriber (each their own book)."""
    from bookedbiz.jobs.digest_send import send_digests
    from bookedbiz.reports.digest import compose

    day = as_of_day(as_of)
    with read_connection(db_path) as conn:
        results = send_digests(command_target(db_path), conn, settings(), kind,
                               compose(kind, day), username=username, force=force)
    for r in results:
        click.echo(f"{r.status:7} {r.kind} digest for {r.username} to {r.target}: {r.detail}")
    sent = sum(r.status == "sent" for r in results)
    failed = sum(r.status == "failed" for r in results)
    click.echo(f"{sent} sent, {failed} failed, {len(results) - sent - failed} skipped.")
    if failed:
        raise SystemExit(EXIT_FAILURE)


@digest_group.command("preview")
@click.argument("kind", type=KIND)
@click.option("--user", "username", required=True, help="Whose digest (their own scope).")
@click.option("--as-of", "as_of", default=None, help="The books' day (default: today).")
@click.option("--html", "html_out", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Write the HTML body here.")
@click.option("--xlsx", "xlsx_out", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Write the attachment here.")
@db_option
@handle_errors
def preview_command(kind: str, username: str, as_of: str | None, html_out: Path | None,
                    xlsx_out: Path | None, db_path: Path | None) -> None:
    """Show the KIND digest a user would get, without sending anything."""
    from bookedbiz import users
    from bookedbiz.reports.digest import compose

    day = as_of_day(as_of)
    with read_connection(db_path) as conn:
        user = users.get_user_by_username(conn, username.strip().lower())
        if user is None:
            raise NotFoundError(f"There is no user '{username[:64]}'.")
        message = compose(kind, day)(conn, user)
    click.echo(message.subject)
    click.echo(message.text)
    if html_out is not None:
        html_out.write_text(message.html, encoding="utf-8")
        click.echo(f"Wrote {html_out}.")
    if xlsx_out is not None:
        xlsx_out.write_bytes(message.xlsx)
        click.echo(f"Wrote {xlsx_out}.")


@digest_group.command("subscribe")
@click.argument("username")
@click.argument("kind", type=KIND)
@click.option("--target", default="email", show_default=True,
              help="'email' (the user's address through MAIL_URL) or an Apprise URL.")
@db_option
@handle_errors
def subscribe_command(username: str, kind: str, target: str, db_path: Path | None) -> None:
    """Subscribe USERNAME to the KIND digest."""
    from bookedbiz.jobs.digest_subscriptions import subscribe

    click.echo(subscribe(command_target(db_path), username, kind, target))


@digest_group.command("unsubscribe")
@click.argument("username")
@click.argument("kind", type=KIND)
@db_option
@handle_errors
def unsubscribe_command(username: str, kind: str, db_path: Path | None) -> None:
    """Remove every KIND digest subscription of USERNAME."""
    from bookedbiz.jobs.digest_subscriptions import unsubscribe

    removed = unsubscribe(command_target(db_path), username, kind=kind)
    click.echo(f"Removed {removed} {kind} digest subscription(s) of {username}.")


@digest_group.command("list")
@db_option
@handle_errors
def list_command(db_path: Path | None) -> None:
    """Every subscription: user, kind, target (scheme and host only), last sent."""
    from bookedbiz.jobs.digest_subscriptions import list_subscriptions

    with read_connection(db_path) as conn:
        subs = list_subscriptions(conn)
    if not subs:
        click.echo("No digest subscriptions.")
    for s in subs:
        click.echo(f"{s.username}\t{s.kind}\t{s.shown}\t{s.last_sent_for or 'never sent'}")
