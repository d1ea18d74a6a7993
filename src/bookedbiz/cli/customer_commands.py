"""``bookedbiz customers``: data stewardship from the terminal (the admin pages' verbs).

Reads come whole from reports.stewardship, writes from entities (validated, audited); this
module only parses arguments and prints.
"""

from __future__ import annotations

import getpass
from datetime import date
from pathlib import Path

import click

from bookedbiz.cli.common import db_option, handle_errors, read_with
from bookedbiz.cli.databases import command_target
from bookedbiz.db.migrate import require_current_schema
from bookedbiz.entities import sectors as sector_admin
from bookedbiz.entities import stewardship as steward
from bookedbiz.reports import stewardship as steward_report


def _actor(by: str | None) -> str:
    return by or f"cli:{getpass.getuser()}"


def _writable(db_path: Path | None) -> Path | str:
    """The file or DATABASE_URL a stewardship write goes to, once its schema is current."""
    target = command_target(db_path)
    require_current_schema(target)
    return target


by_option = click.option("--by", "by", default=None,
                         help="Who is acting, for the audit trail (default: cli:<login>).")


@click.group("customers")
def customers_group() -> None:
    """Customer and agency stewardship: duplicates, merges and undo, sectors, stale customers."""


@customers_group.command("duplicates")
@db_option
@handle_errors
def duplicates_command(db_path: Path | None) -> None:
    """Auto-created customers, largest first, with their likely duplicates."""
    for row in read_with(db_path, steward_report.auto_created_customers):
        matches = "; ".join(f"#{d['customer_id']} {d['name']} ({d['score']})"
                            for d in row["duplicates"]) or "-"
        click.echo(f"#{row['customer_id']:<6} {row['name'][:40]:<40} {row['gross']:>14,.2f}  "
                   f"{matches}")


@customers_group.command("preview")
@click.argument("keep", type=int)
@click.argument("duplicate", type=int)
@click.option("--agency", is_flag=True, help="Agencies instead of customers.")
@db_option
@handle_errors
def preview_command(keep: int, duplicate: int, agency: bool, db_path: Path | None) -> None:
    """What merging DUPLICATE into KEEP would move."""
    data = read_with(db_path, steward_report.merge_preview, "agency" if agency else "customer",
                     keep, duplicate)
    click.echo(f"Merge #{duplicate} {data['merged']['name']} into #{keep} "
               f"{data['survivor']['name']}: {data['spots']} spots, gross {data['gross']:,.2f}, "
               f"net {data['net']:,.2f}, aliases {', '.join(data['aliases']) or '-'}.")
    if data["problem"]:
        raise click.ClickException(data["problem"])


@customers_group.command("merge")
@click.argument("keep", type=int)
@click.argument("duplicate", type=int)
@click.option("--agency", is_flag=True, help="Agencies instead of customers.")
@by_option
@db_option
@handle_errors
def merge_command(keep: int, duplicate: int, agency: bool, by: str | None,
                  db_path: Path | None) -> None:
    """Merge DUPLICATE into KEEP (undo with 'customers undo AUDIT_ID')."""
    merge = steward.merge_agencies if agency else steward.merge_customers
    detail = merge(_writable(db_path), keep, duplicate, _actor(by))
    click.echo(f"Merged #{duplicate} {detail['merged']} into #{keep} {detail['survivor']}: "
               f"{detail['spots_moved']} spots moved (audit entry {detail['audit_id']}).")


@customers_group.command("undo")
@click.argument("audit_id", type=int)
@by_option
@db_option
@handle_errors
def undo_command(audit_id: int, by: str | None, db_path: Path | None) -> None:
    """Undo the merge recorded in audit entry AUDIT_ID."""
    result = steward.undo_merge(_writable(db_path), audit_id, _actor(by))
    click.echo(f"Undone: #{result['merged_id']} {result['merged']} is separate again "
               f"({result['rows_restored']} rows went back).")


@customers_group.command("stale")
@click.option("--months", default="24", show_default=True,
              help="No spots in this many months.")
@db_option
@handle_errors
def stale_command(months: str, db_path: Path | None) -> None:
    """Customers with no spots in the last N months (or none at all)."""
    data = read_with(db_path, steward_report.stale_customers, steward.parse_months(months),
                     date.today())
    for row in data["customers"]:
        click.echo(f"#{row['customer_id']:<6} {row['name'][:40]:<40} "
                   f"{row['last_month'] or 'never':<8} {row['gross']:>14,.2f}")
    click.echo(f"{len(data['customers'])} stale customers; lifetime gross of the active ones "
               f"{data['revenue_at_risk']:,.2f}.")


@customers_group.command("deactivate")
@click.argument("customer_ids", type=int, nargs=-1, required=True)
@click.option("--reason", required=True, help="Kept in the audit trail.")
@click.option("--apply", "apply", is_flag=True,
              help="Really deactivate (without it: a dry run that changes nothing).")
@by_option
@db_option
@handle_errors
def deactivate_command(customer_ids: tuple[int, ...], reason: str, apply: bool,
                       by: str | None, db_path: Path | None) -> None:
    """Deactivate customers (a dry run unless --apply)."""
    detail = steward.set_customers_active(_writable(db_path), customer_ids, False, reason,
                                          _actor(by), dry_run=not apply)
    names = ", ".join(c["name"] for c in detail["customers"]) or "none"
    verb = "Deactivated" if apply else "Dry run, would deactivate"
    click.echo(f"{verb} {len(detail['customers'])}: {names}.")


@customers_group.command("sector")
@click.argument("sector")
@click.argument("customer_ids", type=int, nargs=-1, required=True)
@by_option
@db_option
@handle_errors
def sector_command(sector: str, customer_ids: tuple[int, ...], by: str | None,
                   db_path: Path | None) -> None:
    """Give CUSTOMER_IDS the sector SECTOR ('(none)' clears it)."""
    sector_admin.assign_sector(_writable(db_path), customer_ids, sector, _actor(by))
    click.echo(f"{len(customer_ids)} customer(s) now in {sector}.")


@customers_group.command("class")
@click.argument("revenue_class")
@click.argument("customer_ids", type=int, nargs=-1, required=True)
@by_option
@db_option
@handle_errors
def class_command(revenue_class: str, customer_ids: tuple[int, ...], by: str | None,
                  db_path: Path | None) -> None:
    """Give CUSTOMER_IDS the revenue class REVENUE_CLASS (regular, irregular, political)."""
    sector_admin.set_revenue_class(_writable(db_path), customer_ids, revenue_class, _actor(by))
    click.echo(f"{len(customer_ids)} customer(s) now {revenue_class.lower()}.")


@customers_group.command("sectors")
@db_option
@handle_errors
def sectors_command(db_path: Path | None) -> None:
    """The sector list with each sector's customers."""
    for row in read_with(db_path, steward_report.sectors):
        click.echo(f"{row['name']:<32} {row['customers']:>5} customers")
