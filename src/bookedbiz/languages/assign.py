"""Assigning a language to a spot from its category and the log's language code (SPEC §1.2).

The result also names the spot's *bucket* for the language report: a language code when the spot
is language-targeted and needs no review, else one of the special buckets below, so the language
column always adds up to total revenue.
"""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import Connection, text

BUCKET_NOT_TARGETED = "~not_targeted"
BUCKET_UNDETERMINED = "~undetermined"
BUCKET_INVALID = "~invalid"
BUCKET_REVIEW = "~review"
SPECIAL_BUCKETS = {
    BUCKET_NOT_TARGETED: "English (not language-targeted)",
    BUCKET_UNDETERMINED: "Needs review: undetermined (L)",
    BUCKET_INVALID: "Needs review: invalid code",
    BUCKET_REVIEW: "Needs review: category",
}
ENGLISH = "E"


class Assignment(NamedTuple):
    language_code: str | None
    status: str
    confidence: float
    requires_review: bool
    method: str
    bucket: str


class LanguageAssigner:
    """Memoised per run: (category, raw code) pairs repeat across thousands of spots."""

    def __init__(self, conn: Connection):
        self.codes = {code.upper(): code
                      for (code,) in conn.execute(text("SELECT code FROM languages"))}
        self._cache: dict[tuple[str, str | None], Assignment] = {}

    def assign(self, category: str, raw_code: str | None) -> Assignment:
        key = (category, raw_code)
        cached = self._cache.get(key)
        if cached is None:
            cached = self._assign(category, (raw_code or "").strip())
            self._cache[key] = cached
        return cached

    def assignments(self) -> list[tuple[tuple[str, str | None], Assignment]]:
        """Every (category, raw code) pair seen so far with its assignment."""
        return list(self._cache.items())

    def _assign(self, category: str, code: str) -> Assignment:
        known = self.codes.get(code.upper()) if code else None
        if category == "default_english":
            return Assignment(ENGLISH, "determined", 1.0, False, "default_english_rule",
                              BUCKET_NOT_TARGETED)
        if category == "review":
            return Assignment(known, "review", 0.0, True, "review_category", BUCKET_REVIEW)
        if known:
            return Assignment(known, "determined", 1.0, False, "direct_mapping", known)
        if not code:
            return Assignment(ENGLISH, "default", 0.5, False, "blank_code_default", ENGLISH)
        if code.upper() == "L":
            return Assignment(None, "undetermined", 0.0, True, "undetermined_flagged",
                              BUCKET_UNDETERMINED)
        return Assignment(None, "invalid", 0.0, True, "invalid_code_flagged", BUCKET_INVALID)
