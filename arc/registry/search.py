"""Customer search as a busy person expects it: name (typos forgiven), postcode, phone, cid, case ref.

With pg_trgm (Debian's PostgreSQL) two trigram GIN indexes answer it (migration journey_0001):
one on the name, one on the identifiers. Without the extension (the embedded server) the same
expressions are matched as substrings, which is exact but not fuzzy.
"""

from __future__ import annotations

import re

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# must stay equal to the index expressions in migrations/versions/20261201_journey_customer_journey.py
NAME_SQL = "lower(c.given_name || ' ' || c.family_name || ' ' || coalesce(c.preferred_name, ''))"
IDS_SQL = (
    "lower(coalesce(c.case_ref, '') || ' ' || replace(c.postcode, ' ', '') || ' ' || "
    "regexp_replace(coalesce(c.phone_primary, ''), '[^0-9]', '', 'g') || ' ' || "
    "regexp_replace(coalesce(c.phone_secondary, ''), '[^0-9]', '', 'g'))"
)
# Each way of matching is its own branch so that each can use its index (an OR across them, or
# with the cid lookup, makes PostgreSQL scan every customer); the best score per customer wins.
# Constant SQL only: every value the user typed is a bound parameter (:words, :compact, :digits).
_NAME_FUZZY = (
    f"SELECT c.id, word_similarity(:words, {NAME_SQL}) AS score FROM customers c WHERE :words <% {NAME_SQL}"  # noqa: S608
)
_NAME_PLAIN = f"SELECT c.id, 1.0 AS score FROM customers c WHERE {NAME_SQL} LIKE '%' || :words || '%'"  # noqa: S608
_IDS = f"SELECT c.id, 1.0 FROM customers c WHERE {IDS_SQL} LIKE '%' || :compact || '%'"  # noqa: S608
_DIGITS = f"SELECT c.id, 1.0 FROM customers c WHERE {IDS_SQL} LIKE '%' || :digits || '%'"  # noqa: S608
_CID = "SELECT k.customer_id, 1.0 FROM connections k JOIN units u ON u.id = k.unit_id WHERE u.cid = :digits"

_SHOW = """
WITH found AS MATERIALIZED (SELECT id, max(score) AS score FROM ({branches}) AS hit (id, score) GROUP BY id),
best AS (
    SELECT c.id, found.score, c.family_name, c.given_name
    FROM found JOIN customers c ON c.id = found.id
    WHERE c.erased_at IS NULL
    ORDER BY found.score DESC, c.family_name, c.given_name, c.id
    LIMIT :limit
)
SELECT c.id, c.given_name, c.family_name, c.date_of_birth, c.postcode, c.case_ref, c.phone_primary,
       live.cid, live.status, best.score
FROM best JOIN customers c ON c.id = best.id
LEFT JOIN LATERAL (
    SELECT u.cid, k.status FROM connections k LEFT JOIN units u ON u.id = k.unit_id
    WHERE k.customer_id = c.id ORDER BY (k.status = 'withdrawn'), k.id DESC LIMIT 1
) live ON true
ORDER BY best.score DESC, c.family_name, c.given_name, c.id
"""

_has_trgm: dict[str, bool] = {}


async def trigram_search_available(session: AsyncSession) -> bool:
    key = str(session.bind.url)
    if key not in _has_trgm:
        found = await session.scalar(
            text("SELECT count(*) FROM pg_indexes WHERE indexname = 'trgm_customers_name'")
        )
        _has_trgm[key] = bool(found)
    return _has_trgm[key]


_NUMBER = re.compile(r"^\+?[0-9 ()-]{4,}$")


def _terms(q: str) -> dict:
    """The query as a name (words), as an identifier (compact) and, if it is a number, as digits."""
    words = " ".join(q.lower().split())
    digits = re.sub(r"[^0-9]", "", q) if _NUMBER.match(q.strip()) else ""
    return {"words": words, "compact": words.replace(" ", ""), "digits": digits}


async def search_customers(session: AsyncSession, q: str, limit: int = 20) -> list[dict]:
    terms = _terms(q)
    if not terms["compact"]:
        return []
    fuzzy = await trigram_search_available(session)
    branches = [_NAME_FUZZY if fuzzy else _NAME_PLAIN, _IDS]
    if len(terms["digits"]) >= 4:  # a phone number or a unit's cid
        branches += [_DIGITS, _CID]
    if fuzzy:
        # the planner prices the trigram operators as cheap, so reading all 20,000 rows looks
        # cheaper than the GIN index although computing every row's similarity is what takes the
        # time: price operators higher (for the rest of this transaction only: it changes plans,
        # never results) so it takes the indexes
        await session.execute(
            text(
                "SELECT set_config('pg_trgm.word_similarity_threshold', '0.5', true), "
                "set_config('cpu_operator_cost', '0.05', true)"
            )
        )
    sql = text(_SHOW.format(branches=" UNION ALL ".join(branches)))
    rows = (await session.execute(sql, {**terms, "limit": limit})).mappings().all()
    return [
        {
            "id": r["id"],
            "name": f"{r['given_name']} {r['family_name']}",
            "date_of_birth": r["date_of_birth"],
            "postcode": r["postcode"],
            "case_ref": r["case_ref"],
            "phone_primary": r["phone_primary"],
            "cid": r["cid"],
            "status": r["status"],
            "score": round(float(r["score"]), 3),
        }
        for r in rows
    ]
