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
_CID = "EXISTS (SELECT 1 FROM connections k JOIN units u ON u.id = k.unit_id WHERE k.customer_id = c.id AND u.cid LIKE :digits || '%')"

_SHOW = """
SELECT c.id, c.given_name, c.family_name, c.date_of_birth, c.postcode, c.case_ref, c.phone_primary,
       live.cid, live.status, {score} AS score
FROM customers c
LEFT JOIN LATERAL (
    SELECT u.cid, k.status FROM connections k LEFT JOIN units u ON u.id = k.unit_id
    WHERE k.customer_id = c.id ORDER BY (k.status = 'withdrawn'), k.id DESC LIMIT 1
) live ON true
WHERE c.erased_at IS NULL AND ({where})
ORDER BY score DESC, c.family_name, c.given_name, c.id
LIMIT :limit
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


def _terms(q: str) -> dict:
    words = " ".join(q.lower().split())
    digits = re.sub(r"[^0-9]", "", q)
    return {"words": words, "compact": words.replace(" ", ""), "digits": digits}


async def search_customers(session: AsyncSession, q: str, limit: int = 20) -> list[dict]:
    terms = _terms(q)
    if not terms["compact"]:
        return []
    ids_clause = f"{IDS_SQL} LIKE '%' || :compact || '%'"
    if len(terms["digits"]) >= 3:
        ids_clause += f" OR {IDS_SQL} LIKE '%' || :digits || '%' OR {_CID}"
    if await trigram_search_available(session):
        await session.execute(text("SELECT set_config('pg_trgm.word_similarity_threshold', '0.5', true)"))
        where = f":words <% {NAME_SQL} OR {ids_clause}"
        score = f"GREATEST(word_similarity(:words, {NAME_SQL}), CASE WHEN {ids_clause} THEN 1.0 ELSE 0 END)"
    else:
        where = f"{NAME_SQL} LIKE '%' || :words || '%' OR {ids_clause}"
        score = "1.0"
    sql = text(_SHOW.format(where=where, score=score))
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
