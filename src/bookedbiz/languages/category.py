"""Which spots need a language (SPEC §1.2): the category drives assignment and the language
report. A languages rule, so it lives with the languages, below the importer that applies it."""

from __future__ import annotations

from bookedbiz.vocab import (
    BRANDED_CONTENT,
    DIRECT_RESPONSE,
    INTERNAL_AD_SALES,
    LOCAL,
    OTHER,
    PAID_PROGRAMMING,
)

LANGUAGE_REQUIRED = "language_required"
DEFAULT_ENGLISH = "default_english"
REVIEW = "review"
CATEGORIES = (LANGUAGE_REQUIRED, DEFAULT_ENGLISH, REVIEW)


def language_category(revenue: str, spot: str) -> str:
    """``language_required`` for Internal Ad Sales or Local COM/BNS; ``default_english`` for
    Direct Response, Paid Programming, Branded Content and Other SVC/PRD; else ``review``."""
    if revenue in (INTERNAL_AD_SALES, LOCAL) and spot in ("COM", "BNS"):
        return LANGUAGE_REQUIRED
    if revenue in (DIRECT_RESPONSE, PAID_PROGRAMMING, BRANDED_CONTENT):
        return DEFAULT_ENGLISH
    if revenue == OTHER and spot in ("SVC", "PRD"):
        return DEFAULT_ENGLISH
    return REVIEW
