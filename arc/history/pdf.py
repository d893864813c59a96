"""The monthly service report as a PDF (reportlab: tables and one bar chart, no fonts to ship)."""

from __future__ import annotations

import io

from reportlab.graphics.charts.barcharts import HorizontalBarChart
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

GRID = TableStyle(
    [
        ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#9aa5b1")),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e7ecf1")),
        ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
        ("ALIGN", (1, 1), (-1, -1), "RIGHT"),
        ("FONTSIZE", (0, 0), (-1, -1), 9),
    ]
)


def _fmt(value, suffix: str = "") -> str:
    return "—" if value is None else f"{value}{suffix}"


def _table(header: list[str], rows: list[list]) -> Table:
    table = Table([header, *rows], hAlign="LEFT")
    table.setStyle(GRID)
    return table


def _chart(counts: dict[str, int]) -> Drawing:
    items = list(counts.items())[:8] or [("no calls", 0)]
    drawing = Drawing(170 * mm, 12 * mm + 9 * mm * len(items))
    chart = HorizontalBarChart()
    chart.x, chart.y = 55 * mm, 6 * mm
    chart.width, chart.height = 105 * mm, 9 * mm * len(items)
    chart.data = [[n for _, n in reversed(items)]]
    chart.categoryAxis.categoryNames = [name[:32] for name, _ in reversed(items)]
    chart.categoryAxis.labels.fontSize = 8
    chart.valueAxis.valueMin = 0
    chart.valueAxis.labels.fontSize = 8
    chart.bars[0].fillColor = colors.HexColor("#0b5cad")
    drawing.add(chart)
    return drawing


def monthly_pdf(report: dict, service_name: str = "Lifeline ARC") -> bytes:
    styles = getSampleStyleSheet()
    k = report["answer_kpis"]
    t = report["targets"]
    story = [
        Paragraph(f"{service_name} — monthly service report, {report['month']}", styles["Title"]),
        Paragraph(
            f"Calls raised {report['from']} to {report['to']} (Europe/London dates).", styles["Normal"]
        ),
        Spacer(1, 5 * mm),
        Paragraph("Answering", styles["Heading2"]),
        _table(
            ["measure", "this month", "target"],
            [
                ["calls", report["calls"], ""],
                ["answered", _fmt(k["answered"]), ""],
                ["answered within 60 s", _fmt(k["answered_60s_pct"], " %"), f"{t['60s']} %"],
                ["answered within 180 s", _fmt(k["answered_180s_pct"], " %"), f"{t['180s']} %"],
                ["median time to answer", _fmt(k["median_answer_s"], " s"), ""],
                ["90th percentile time to answer", _fmt(k["p90_answer_s"], " s"), ""],
                ["median time to arrival", _fmt(k["median_arrival_s"], " s"), ""],
            ],
        ),
        Spacer(1, 5 * mm),
        Paragraph("Response", styles["Heading2"]),
        _table(
            ["measure", "this month"],
            [
                ["ERS attendances", report["ers_attendances"]],
                ["999 calls made", report["calls_999"]],
                ["999 calls avoided (responder or ERS attended, no 999)", report["calls_999_avoided"]],
            ],
        ),
        Spacer(1, 5 * mm),
        Paragraph("Calls by device type", styles["Heading2"]),
        _chart(report["by_device_type"]),
        _table(["device type", "calls"], [[name, n] for name, n in report["by_device_type"].items()]),
        Spacer(1, 5 * mm),
        Paragraph("Calls by outcome", styles["Heading2"]),
        _table(["outcome", "calls"], [[name, n] for name, n in report["by_outcome"].items()]),
    ]
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        title=f"Monthly service report {report['month']}",
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=16 * mm,
    )
    doc.build(story)
    return buffer.getvalue()
