"""A Last-Event-ID that is not a storable event id is refused with a reason, never a 500."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    "header",
    [
        b"\xb2",  # "²" once decoded: a digit to str.isdigit(), not to int() (was a 500)
        b"\xb9\xb3",
        str(2**63).encode(),  # beyond bigint
        b"12; DROP",
    ],
)
async def test_last_event_id_that_is_not_an_event_id_is_422(client, header):
    answer = await client.get("/api/live/stream", headers={"Last-Event-ID": header})
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"] == "invalid" and "Last-Event-ID" in answer.json()["detail"]
