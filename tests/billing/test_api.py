"""Finance through the API: documents, letters, waivers with four eyes, aged debt, exports."""

from __future__ import annotations

from datetime import date

from sqlalchemy import update

from billing.models import Account, Document
from billing.periods import Quarter
from billing.runs import run_quarter
from tests.billing.conftest import add_connection, at, documents


async def _invoiced(maker, billing_settings, n=2, **customer):
    conns = [await add_connection(maker, date(2026, 1, 10), **customer) for _ in range(n)]
    await run_quarter(maker, Quarter(2027, 3), now=at(date(2027, 6, 25)), settings=billing_settings)
    return conns


async def test_finance_lists_searches_and_reads_documents(client_as, maker, billing_settings):
    await _invoiced(maker, billing_settings, family_name="Whitfield")
    finance = await client_as("finance")
    page = (await finance.get("/api/billing/documents")).json()
    assert page["total"] == 2 and {d["number"] for d in page["items"]} == {"INV-000001", "INV-000002"}
    assert (await finance.get("/api/billing/documents", params={"q": "INV-000002"})).json()["total"] == 1
    assert (await finance.get("/api/billing/documents", params={"q": "whitf"})).json()["total"] == 2
    assert (await finance.get("/api/billing/documents", params={"doc_type": "credit_note"})).json()[
        "total"
    ] == 0
    doc_id = page["items"][0]["id"]
    doc = (await finance.get(f"/api/billing/documents/{doc_id}")).json()
    assert doc["gross_pence"] == 6500 and doc["weeks"] == "13.00" and doc["lines"][0]["kind"] == "charge"
    assert doc["vat_statement"] == "This charge is outside the scope of VAT."
    pdf = await finance.get(f"/api/billing/documents/{doc_id}/pdf", params={"large_print": True})
    assert (
        pdf.status_code == 200
        and pdf.headers["content-type"] == "application/pdf"
        and pdf.content[:5] == b"%PDF-"
    )
    operator = await client_as("operator")
    assert (await operator.get("/api/billing/documents")).status_code == 403
    assert (await finance.get("/api/billing/documents/999999")).status_code == 404


async def test_a_waiver_needs_a_second_person_and_credits_what_was_invoiced(
    client_as, maker, billing_settings
):
    conn, _ = await _invoiced(maker, billing_settings)
    alice, bob = await client_as("finance"), await client_as("finance")
    body = {
        "connection_id": conn.id,
        "start_date": "2027-08-01",
        "end_date": "2027-08-14",
        "reason": "Hardship: bereavement",
    }
    made = await alice.post("/api/billing/waivers", json=body)
    assert made.status_code == 201, made.text
    waiver = made.json()
    overlapping = await bob.post(
        "/api/billing/waivers", json={**body, "start_date": "2027-08-10", "end_date": "2027-09-01"}
    )
    assert overlapping.status_code == 422 and "overlaps" in overlapping.json()["detail"]
    own = await alice.post(f"/api/billing/waivers/{waiver['id']}/decision", json={"approve": True})
    assert own.status_code == 403 and own.json()["error"] == "four_eyes"
    ok = await bob.post(f"/api/billing/waivers/{waiver['id']}/decision", json={"approve": True})
    assert ok.status_code == 200 and ok.json()["status"] == "approved"
    (credit,) = await documents(maker, "credit_note")
    # the credit rule: invoiced x days / days invoiced = £65.00 x 14 / 92 = £9.89 (not 2 x £5.00)
    assert credit.reason == "waiver" and credit.net_pence == 989
    again = await bob.post(f"/api/billing/waivers/{waiver['id']}/decision", json={"approve": False})
    assert again.status_code == 409
    listed = (await alice.get("/api/billing/waivers", params={"status": "approved"})).json()
    assert [w["id"] for w in listed] == [waiver["id"]]


async def test_bad_waivers_prices_and_exports_are_refused_and_nothing_is_written(
    client_as, maker, billing_settings
):
    (conn,) = await _invoiced(maker, billing_settings, n=1)
    finance = await client_as("finance")
    cases = [
        (
            "/api/billing/waivers",
            {"connection_id": conn.id, "start_date": "2027-08-10", "end_date": "2027-08-01", "reason": "x"},
            "end_date",
        ),
        (
            "/api/billing/waivers",
            {"connection_id": conn.id, "start_date": "2025-01-01", "end_date": "2025-02-01", "reason": "x"},
            "install",
        ),
        ("/api/billing/tariffs/standard/prices", {"weekly_pence": 550}, "effective_from"),
        (
            "/api/billing/tariffs/standard/prices",
            {"weekly_pence": 550, "effective_from": None},
            "effective_from",
        ),
        ("/api/billing/tariffs/gold/prices", {"weekly_pence": 550, "effective_from": "2027-10-01"}, "gold"),
    ]
    for path, body, word in cases:
        answer = await finance.post(path, json=body)
        assert 400 <= answer.status_code < 500, (path, body, answer.text)
        assert word in answer.text
    wrong_way = await finance.get("/api/billing/export", params={"from": "2027-07-01", "to": "2027-06-01"})
    assert wrong_way.status_code == 422 and "wrong way round" in wrong_way.text
    assert (await finance.get("/api/billing/waivers")).json() == []
    tariffs = (await finance.get("/api/billing/tariffs")).json()
    assert all(len(t["prices"]) == 1 for t in tariffs)


async def test_aged_debt_and_export_from_the_api(client_as, maker, billing_settings):
    await _invoiced(maker, billing_settings, n=3)
    async with maker() as s:
        first = (
            await s.scalars(Document.__table__.select().with_only_columns(Document.id).order_by(Document.id))
        ).all()
        await s.execute(update(Document).where(Document.id == first[0]).values(payment_state="paid"))
        await s.execute(update(Account).values(payer_name="Susan Whitfield (daughter)"))
        await s.commit()
    finance = await client_as("finance")
    # the app's clock reads 22 Nov 2026 in tests; the invoices of 25 June 2027 are in its future
    aged = (await finance.get("/api/billing/aged-debt")).json()
    assert aged["count"] == 2 and aged["owed_pence"] == 13000 and aged["buckets"]["0-30"]["count"] == 2
    csv = await finance.get("/api/billing/export", params={"from": "2027-06-25", "to": "2027-06-25"})
    assert csv.status_code == 200 and csv.text.count("\n") == 4 and "INV-000003" in csv.text
    xlsx = await finance.get(
        "/api/billing/export", params={"from": "2027-06-25", "to": "2027-06-25", "format": "xlsx"}
    )
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    runs = (await finance.get("/api/billing/runs")).json()
    assert runs[0]["quarter"] == "2027Q3" and runs[0]["invoices"] == 3 and runs[0]["status"] == "finished"
    income = (await finance.get("/api/billing/income", params={"fy": 2027})).json()
    assert income["quarters"][1]["label"] == "2027Q3" and income["quarters"][1]["invoiced"] == 19500


async def test_finance_sets_who_pays_and_the_next_invoice_goes_to_them(client_as, maker, billing_settings):
    conn = await add_connection(maker, date(2026, 1, 10))
    finance = await client_as("finance")
    url = f"/api/billing/accounts/{conn.customer_id}"
    assert (await finance.get(url)).json()["payment_method"] == "invoice"
    bad = await finance.put(url, json={"payment_method": "direct_debit"})
    assert bad.status_code == 422 and "mandate_reference" in bad.text
    bad = await finance.put(url, json={"payer_name": "Mr Tom Reed (attorney)"})
    assert bad.status_code == 422 and "payer_address" in bad.text
    body = {
        "payer_name": "Mr Tom Reed (attorney)",
        "payer_address": "5 Hills Road\\nCambridge",
        "payer_postcode": "CB2 1JP",
        "payment_method": "direct_debit",
        "mandate_reference": "DD-77",
        "vat_treatment": "zero_rated",
    }
    saved = await finance.put(url, json=body)
    assert saved.status_code == 200, saved.text
    missing = (await finance.get("/api/billing/vat/missing-declarations")).json()
    assert [m["customer_id"] for m in missing] == [conn.customer_id]
    await run_quarter(maker, Quarter(2027, 3), now=at(date(2027, 6, 25)), settings=billing_settings)
    (doc,) = await documents(maker)
    assert doc.payer_name == "Mr Tom Reed (attorney)" and doc.payment_method == "direct_debit"
    assert doc.vat_treatment == "standard" and doc.vat_pence == 1300  # zero-rating needs the declaration
    assert (await finance.put(url, json={**body, "vat_declaration_on": "2027-07-01"})).status_code == 200
    assert (await finance.get("/api/billing/vat/missing-declarations")).json() == []
    assert (await finance.get("/api/billing/accounts/999999")).status_code == 404
