"""What makes the demo database feel lived in beyond its spots: budgets and forecasts set the way
managers set them, and one sign-in per role so a newcomer can see what each role sees."""

from __future__ import annotations

import random
import secrets
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from bookedbiz import broadcast_calendar as bc
from bookedbiz import users as user_service
from bookedbiz.errors import BookedBizError
from bookedbiz.planning.budget_file import BudgetLine
from bookedbiz.planning.budgets import apply_budgets
from bookedbiz.planning.forecasts import set_forecast
from bookedbiz.synth.advertisers import AE_SHARES
from bookedbiz.synth.bookings import STORY_AE, BookingModel, Spot
from bookedbiz.synth.logs import log_spots

PLANNER = "Demo Sales Manager"
_AE_NAMES = {name.casefold(): name for name, _share in AE_SHARES}


@dataclass(frozen=True)
class DemoLogin:
    role: str
    username: str
    full_name: str
    ae: str | None = None
    password: str = ""


DEMO_USERS = (
    DemoLogin("admin", "demo", "Demo Admin"),
    DemoLogin("manager", "manager", "Sales Manager"),
    DemoLogin("finance", "finance", "Finance"),
    DemoLogin("ae", STORY_AE.split()[0].lower(), STORY_AE, ae=STORY_AE),
    DemoLogin("viewer", "viewer", "Viewer"),
)


def _gross(spot: Spot) -> int:
    """Micro-dollars of a spot's gross cell (text money included); Trade is never revenue."""
    cell = spot.cells[15]
    if spot.cells[23] == "Trade":
        return 0
    if isinstance(cell, str) and cell.startswith("$"):
        cell = float(cell[1:].replace(",", ""))
    return round(cell * 1_000_000) if isinstance(cell, float) else 0


def _by_ae(spots) -> dict[str, int]:  # noqa: ANN001 - any iterable of spots
    totals: dict[str, int] = defaultdict(int)
    for spot in spots:
        name = _AE_NAMES.get(str(spot.cells[22]).casefold())
        if name:
            totals[name] += _gross(spot)
    return totals


def seed_plans(db_path: Path, model: BookingModel, today: date) -> dict[str, int]:
    """Budgets per AE × month for this broadcast year and the next twelve months (last year's
    final plus 5–10%, each AE and month a little different), and forecasts for this month and
    the next (most AEs for the one after), all through the planning service as a manager or
    the AE would set them."""
    rng = random.Random(f"plans:{model.seed}")
    current = bc.broadcast_month_of(today)
    first = bc.month_key(int(current[:4]), 1)
    lines: list[BudgetLine] = []
    month = first
    while month <= bc.shift_month(current, 12):
        last_year = bc.shift_month(month, -12)
        final = _by_ae(s for s in model.by_month.get(last_year, ()) if s.removed is None)
        for ae, _share in AE_SHARES:
            uplift = rng.uniform(1.05, 1.10) * rng.uniform(0.94, 1.06)
            amount = final.get(ae, 0) * uplift
            amount = max(round(amount / 500_000_000) * 500_000_000, round(amount, -6))
            if amount > 0:
                lines.append(BudgetLine(len(lines) + 2, ae, month, amount))
        month = bc.shift_month(month, 1)
    apply_budgets(db_path, lines, by=PLANNER, source="Demo budget 2-year plan.xlsx",
                  create_aes=True)
    booked = log_spots(model, today)
    forecasts = 0
    for offset in range(3):
        month = bc.shift_month(current, offset)
        now = _by_ae(s for spots in booked.values() for s in spots if s.month == month)
        for ae, _share in AE_SHARES:
            if now.get(ae, 0) <= 0 or (offset == 2 and rng.random() < 0.4):
                continue  # not every AE has forecast that far out yet
            expected = now[ae] * rng.uniform(1.02, 1.25 + 0.2 * offset)
            set_forecast(db_path, month=month, micros=round(expected / 100_000_000) * 100_000_000,
                         by=ae if rng.random() < 0.5 else PLANNER, ae=ae,
                         note=rng.choice(("Verbal on two renewals", "Pending agency approval",
                                          "Political money expected", None, None)))
            forecasts += 1
    return {"budgets": len(lines), "forecasts": forecasts}


def ensure_demo_users(db_path: Path) -> list[DemoLogin]:
    """One user per role with a fresh password (created, or reset when the demo database is
    reused); the ``ae`` user sees only their own book."""
    logins = []
    for login in DEMO_USERS:
        password = secrets.token_urlsafe(12)
        try:
            user_service.create_user(db_path, login.username, password, login.role,
                                     full_name=login.full_name, ae=login.ae)
        except BookedBizError:
            user_service.set_password(db_path, login.username, password)
            user_service.set_role(db_path, login.username, login.role, ae=login.ae)
            user_service.set_active(db_path, login.username, True)
        logins.append(DemoLogin(login.role, login.username, login.full_name, login.ae,
                                password))
    return logins
