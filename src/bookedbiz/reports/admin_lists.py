"""Lists for the data-stewardship page: AE aliases, AEs, markets (with their booked volume)."""

from __future__ import annotations

from sqlalchemy import Connection, text


def ae_aliases(conn: Connection) -> list[dict[str, object]]:
    rows = conn.execute(
        text(
            "SELECT al.alias_text, a.name, al.created_by, al.created_at FROM ae_aliases al "
            "JOIN aes a ON a.ae_id = al.ae_id ORDER BY a.name, al.alias_text"
        )
    ).all()
    keys = ("alias", "ae", "created_by", "created_at")
    return [dict(zip(keys, r, strict=True)) for r in rows]


def ae_names(conn: Connection) -> list[str]:
    return list(conn.execute(text("SELECT name FROM aes ORDER BY name")).scalars().all())


def markets(conn: Connection) -> list[dict[str, object]]:
    """Every market with how many (non-Trade) spots it has, so unused codes stand out."""
    counts = dict(
        conn.execute(
            text("SELECT market_code, SUM(spots) FROM spot_summary GROUP BY market_code")
        ).all()
    )
    rows = conn.execute(
        text("SELECT code, name, auto_created, created_at FROM markets ORDER BY code")
    ).all()
    return [
        {"code": code, "name": name, "auto_created": bool(auto), "created_at": created,
         "spots": int(counts.get(code) or 0)}
        for code, name, auto, created in rows
    ]
