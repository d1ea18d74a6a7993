"""Likely duplicate customers and agencies: a fuzzy match of normalized names (RapidFuzz).

Names are compared after the same normalisation people do in their heads: case, punctuation,
spacing and the legal-form words (Inc, LLC, Co, The …) do not make two advertisers different.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from rapidfuzz import fuzz, process

# Words that do not tell two advertisers apart.
_NOISE_WORDS = frozenset({
    "the", "inc", "incorporated", "llc", "llp", "ltd", "co", "corp", "corporation", "company",
    "and", "of", "group", "usa", "us", "na",
})
_NON_WORD = re.compile(r"[^0-9a-z]+")
# A pair scoring at least this (0–100) is shown as a likely duplicate.
DEFAULT_CUTOFF = 86.0


def match_key(name: str) -> str:
    """``The ACME Foods, Inc.`` → ``acme foods``: what two spellings of one name share."""
    words = _NON_WORD.sub(" ", name.casefold().replace("&", " and ")).split()
    kept = [w for w in words if w not in _NOISE_WORDS]
    return " ".join(kept or words)


def likely_duplicates(
    names: Mapping[int, str], wanted: list[int], *, limit: int = 3,
    cutoff: float = DEFAULT_CUTOFF,
) -> dict[int, list[tuple[int, float]]]:
    """For each id in ``wanted``: up to ``limit`` other ids of ``names`` whose normalized names
    score at least ``cutoff`` (token-sort ratio: word order does not matter), best first."""
    ids = list(names)
    keys = [match_key(names[i]) for i in ids]
    position = {customer_id: n for n, customer_id in enumerate(ids)}
    found: dict[int, list[tuple[int, float]]] = {}
    for customer_id in wanted:
        n = position.get(customer_id)
        if n is None:
            found[customer_id] = []
            continue
        matches = process.extract(keys[n], keys, scorer=fuzz.token_sort_ratio,
                                  score_cutoff=cutoff, limit=limit + 1)
        found[customer_id] = [
            (ids[index], round(float(score), 1)) for _key, score, index in matches
            if index != n
        ][:limit]
    return found
