"""Call histories, exports, charts and reports through the API, as the TEC team uses them."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

from openpyxl import load_workbook
from sqlalchemy import func, select

from arc.alarms import outcomes
from arc.audit.models import AuditEntry
from arc.dispatch.models import ResponseTask
from tests.arc.history.helpers import days, history
from tests.factories import create_customer_with_unit, create_peripheral, create_user


async def _arrange(session, clock):
    await outcomes.ensure_defaults(session)  # the labels (the table is emptied between tests)
    customer, unit, _ = await create_customer_with_unit(session, date_of_birth=date(1940, 5, 1))
    pendant = await create_peripheral(session, unit, did="P1", dty="0003")
    operator = await create_user(session, role="operator", full_name="Olive Operator")
    calls = await history(session, customer, unit, clock.now(), days(1, 2, 3), did=pendant.did)
    calls[0].status, calls[0].outcome_code = "closed", "ers_attended"
    calls[0].accepted_by_id, calls[0].accepted_at = operator.id, calls[0].raised_at + timedelta(seconds=42)
    session.add(
        ResponseTask(
            alarm_id=calls[0].id,
            kind="ers",
            status="arrived",
            requested_at=calls[0].raised_at,
            arrived_at=calls[0].raised_at + timedelta(minutes=25),
            ers_user_id=operator.id,
        )
    )
    calls[1].status, calls[1].outcome_code = "closed", "false_alarm"
    await history(session, customer, unit, clock.now(), days(4), dty="0005", stc="0009", did="F1")
    await history(session, customer, unit, clock.now(), days(5), kind="battery_low", category="technical")
    await session.commit()
    return customer, unit, calls


async def test_call_history_shows_device_outcome_responder_and_times_and_is_audited(
    app, session, clock, client_as
):
    tec = await client_as("tec")
    customer, unit, calls = await _arrange(session, clock)
    r = await tec.get(f"/api/history/customers/{customer.id}/calls")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == 5
    first = body["rows"][0]
    assert first["id"] == calls[0].id and first["device_type"] == "pendant / personal trigger"
    assert first["reported"] == "alarm (manual)" and first["outcome"] == "ERS attended"
    assert first["answer_s"] == 42.0 and first["arrival_s"] == 1500.0
    assert first["operator"] == "Olive Operator" and first["responders"][0]["status"] == "arrived"
    assert [row["type"] for row in body["rows"]] == ["genuine", "false", "genuine", "genuine", "technical"]

    only_falls = (await tec.get(f"/api/history/customers/{customer.id}/calls?device_type=0005")).json()
    assert [row["device_type"] for row in only_falls["rows"]] == ["fall detector"]
    false = (await tec.get(f"/api/history/customers/{customer.id}/calls?type=false")).json()
    assert false["total"] == 1
    paged = (await tec.get(f"/api/history/customers/{customer.id}/calls?page=2&page_size=2")).json()
    assert [row["id"] for row in paged["rows"]] == [row["id"] for row in body["rows"][2:4]]
    pendant = (await tec.get(f"/api/history/units/{unit.id}/calls?did=P1")).json()
    assert pendant["total"] == 3

    audited = await session.scalar(
        select(func.count())
        .select_from(AuditEntry)
        .where(AuditEntry.customer_id == customer.id, AuditEntry.object_type == "history")
    )
    assert audited == 4


async def test_bad_input_is_a_4xx_naming_the_field(app, session, clock, client_as):
    tec = await client_as("tec")
    customer, _, _ = await _arrange(session, clock)
    base = f"/api/history/customers/{customer.id}/calls"
    for query, field in [
        ("?from=2026-11-10&to=2026-11-01", "to"),
        ("?page_size=10000000", "page_size"),
        ("?device_type=fall", "device_type"),
        ("?type=bogus", "type"),
    ]:
        r = await tec.get(base + query)
        assert r.status_code == 422 and field in r.text, (query, r.text)
    assert (await tec.get("/api/history/customers/999999/calls")).status_code == 404
    assert (await tec.get("/api/history/customers/999999/chart.svg")).status_code == 404
    r = await tec.get("/api/history/reports/monthly?month=2026-13")
    assert r.status_code == 422 and "month" in r.text
    assert (await (await client_as("operator")).get(base)).status_code == 403


async def test_exports_as_csv_and_xlsx(app, session, clock, client_as):
    tec = await client_as("tec")
    customer, _, calls = await _arrange(session, clock)
    r = await tec.get(f"/api/history/customers/{customer.id}/calls/export?format=csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["alarm", "raised (London)", "type"] and len(rows) == 6
    assert rows[1][0] == str(calls[0].id) and rows[1][8] == "ERS attended"
    r = await tec.get(f"/api/history/customers/{customer.id}/calls/export?format=xlsx&type=genuine")
    sheet = load_workbook(io.BytesIO(r.content)).active
    assert sheet.max_row == 4  # header + three genuine calls


async def test_chart_is_an_svg_with_the_weeks_and_the_flag(app, session, clock, client_as):
    from arc.history.jobs import evaluate_flags

    tec = await client_as("tec")
    customer, _, _ = await _arrange(session, clock)
    await evaluate_flags(app)  # the fall makes a falls flag
    r = await tec.get(f"/api/history/customers/{customer.id}/chart.svg?weeks=8")
    assert r.status_code == 200 and r.headers["content-type"] == "image/svg+xml"
    svg = r.text
    assert svg.startswith("<svg") and "Activations per week" in svg and "falls (open)" in svg
    assert svg.count("<rect") > 8
    overview = await tec.get("/api/history/overview.svg")
    assert overview.status_code == 200 and "Answered within target" in overview.text


async def test_monthly_report_and_people_supported(app, session, clock, client_as):
    tec = await client_as("tec")
    await _arrange(session, clock)
    r = await tec.get("/api/history/reports/monthly?month=2026-11")
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["calls"] == 4 and report["ers_attendances"] == 1 and report["calls_999_avoided"] == 1
    assert report["by_device_type"]["pendant / personal trigger"] == 3
    pdf = await tec.get("/api/history/reports/monthly.pdf?month=2026-11")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    people = await tec.get("/api/history/reports/people-supported.csv?year=2025")
    lines = people.text.strip().splitlines()
    assert lines[0] == "year,age band,people supported,new,ended"
    assert "2025-26,85 and over,1,1,0" in lines  # born 1940, installed January 2026
