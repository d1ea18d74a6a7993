"""The outcome of one import: counts, per-month changes, rejects and warnings."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from bookedbiz import broadcast_calendar
from bookedbiz.money import micros_to_dollars


@dataclass
class MonthChange:
    month: str
    rows_before: int
    gross_before_micros: int
    rows_after: int
    gross_after_micros: int
    action: str  # replaced | skipped-closed | skipped-previous-month | rejected-only

    def to_dict(self) -> dict[str, object]:
        return {
            "month": self.month,
            "label": broadcast_calendar.label(self.month),
            "action": self.action,
            "rows_before": self.rows_before,
            "rows_after": self.rows_after,
            "gross_before": float(micros_to_dollars(self.gross_before_micros)),
            "gross_after": float(micros_to_dollars(self.gross_after_micros)),
            "gross_change": float(
                micros_to_dollars(self.gross_after_micros - self.gross_before_micros)
            ),
        }


@dataclass
class RejectRecord:
    sheet: str
    row_number: int
    column: str | None
    value: str | None
    reason: str


@dataclass
class ImportResult:
    batch_id: int | None
    mode: str
    source_file: str
    source_sha256: str
    status: str = "running"
    dry_run: bool = False
    rows_read: int = 0
    rows_inserted: int = 0
    rows_deleted: int = 0
    rows_rejected: int = 0
    rows_skipped: int = 0
    months_in_file: list[str] = field(default_factory=list)
    months_replaced: list[str] = field(default_factory=list)
    months_closed: list[str] = field(default_factory=list)
    changes: list[MonthChange] = field(default_factory=list)
    rejects: list[RejectRecord] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    created: dict[str, list[str]] = field(default_factory=dict)
    language_assignment_ok: bool = False
    error: str | None = None
    seconds: float = 0.0
    station: str = ""  # the code of the station the import belongs to (SPEC §4)

    @property
    def success(self) -> bool:
        return self.status == "completed" and self.language_assignment_ok

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["changes"] = [c.to_dict() for c in self.changes]
        data["rejects"] = [asdict(r) for r in self.rejects[:200]]
        data["success"] = self.success
        data["seconds"] = round(self.seconds, 3)
        return data
