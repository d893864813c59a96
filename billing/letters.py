"""Invoice and credit-note letters as PDF, with fpdf2.

Why fpdf2: pure Python (no system libraries to install on a clean machine), maintained, embeds
TrueType fonts for full Unicode names, and small: a letter is a few KB and renders in
milliseconds. reportlab would do too, but its flowables are more than a one-page letter needs.

Written for a reader of 85: the amount and what it is for in one sentence at the top, then how to
pay, who to call, and the detail. ``large_print`` sets everything at 16 pt or more.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fpdf import FPDF

from billing.ledger import VAT_STATEMENTS, display_number
from billing.money import money
from billing.settings import BillingSettings

FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"),)
_ASCII = str.maketrans({"—": "-", "–": "-", "‘": "'", "’": "'", "“": '"', "”": '"', "…": "..."})


@dataclass
class LetterLine:
    description: str
    net_pence: int


@dataclass
class Letter:
    doc_type: str
    number: int
    original_number: int | None
    reason: str
    payer_name: str
    payer_address: str
    customer_name: str
    account_number: str
    period_start: object
    period_end: object
    weeks: str
    issue_date: object
    due_date: object
    net_pence: int
    vat_pence: int
    gross_pence: int
    vat_treatment: str
    payment_method: str
    mandate_reference: str | None
    lines: list[LetterLine]


def _d(day) -> str:
    return f"{day:%-d %B %Y}"


class _Pdf(FPDF):
    def __init__(self, large: bool) -> None:
        super().__init__(format="A4")
        self.large = large
        self.unicode = False
        regular = next((d / "DejaVuSans.ttf" for d in FONT_DIRS if (d / "DejaVuSans.ttf").exists()), None)
        if regular is not None and (regular.parent / "DejaVuSans-Bold.ttf").exists():
            self.add_font("body", "", str(regular))
            self.add_font("body", "B", str(regular.parent / "DejaVuSans-Bold.ttf"))
            self.unicode = True
        self.set_margins(20, 18, 20)
        self.set_auto_page_break(True, margin=18)

    def size(self, normal: float) -> float:
        return max(16.0, normal * 1.45) if self.large else normal

    def text(self, value: str) -> str:  # core fonts are Latin-1 only
        return (
            value if self.unicode else value.translate(_ASCII).encode("latin-1", "replace").decode("latin-1")
        )

    def para(self, value: str, pt: float = 11, style: str = "", gap: float = 1.5) -> None:
        self.set_font("body" if self.unicode else "helvetica", style, self.size(pt))
        self.multi_cell(0, self.size(pt) * 0.5, self.text(value), align="L", new_x="LMARGIN", new_y="NEXT")
        self.ln(gap)


def _how_to_pay(letter: Letter, settings: BillingSettings) -> str:
    amount = money(letter.gross_pence)
    if letter.payment_method == "direct_debit":
        ref = f" (mandate {letter.mandate_reference})" if letter.mandate_reference else ""
        return f"You do not need to do anything. We will collect {amount} by Direct Debit{ref} on or after {_d(letter.due_date)}."
    if letter.payment_method == "card":
        return f"Please pay {amount} by card by {_d(letter.due_date)}: use the link in our email, or call us on {settings.council_phone}."
    return (
        f"Please pay {amount} by {_d(letter.due_date)}. By bank transfer: {settings.bank_details}. "
        f"By phone with a debit card: call {settings.council_phone}."
    )


def render_letter(letter: Letter, settings: BillingSettings, *, large_print: bool = False) -> bytes:
    pdf = _Pdf(large_print)
    pdf.add_page()
    number = display_number(letter.doc_type, letter.number)
    pdf.para(settings.council_name, 13, "B", 0.5)
    pdf.para(settings.council_address.replace("\n", ", "), 9.5, gap=4)
    pdf.para(f"{letter.payer_name}\n{letter.payer_address}", 11, gap=5)
    invoice = letter.doc_type == "invoice"
    title = "Your Lifeline invoice" if invoice else "Your Lifeline credit note"
    pdf.para(title, 20, "B", 2)
    period = f"{_d(letter.period_start)} to {_d(letter.period_end)}"
    if invoice:
        headline = f"Amount to pay: {money(letter.gross_pence)} by {_d(letter.due_date)}"
        explain = (
            f"This pays for the Lifeline alarm service for {letter.customer_name} from {period} "
            f"({letter.weeks} weeks). The first 6 weeks of the service were free."
        )
    else:
        original = (
            display_number("invoice", letter.original_number)
            if letter.original_number
            else "an earlier invoice"
        )
        headline = f"We owe you: {money(letter.gross_pence)}"
        why = "the service ended" if letter.reason == "withdrawal" else "these charges were waived"
        explain = (
            f"This credit is for {period} ({letter.weeks} weeks) of invoice {original}, because {why}. "
            "If you have already paid, we will refund you; otherwise the invoice is reduced by this amount."
        )
    pdf.para(headline, 16, "B", 2)
    pdf.para(explain, 12, gap=4)
    if invoice:
        pdf.para("How to pay", 13, "B", 1)
        pdf.para(_how_to_pay(letter, settings), 12, gap=4)
    pdf.para("Questions?", 13, "B", 1)
    pdf.para(
        f"Call the Lifeline team on {settings.council_phone} (Monday to Friday, 9am to 5pm) or email "
        f"{settings.council_email}. Please have your account number {letter.account_number} ready.",
        12,
        gap=5,
    )
    _details(pdf, letter, number, settings)
    return bytes(pdf.output())


def _details(pdf: _Pdf, letter: Letter, number: str, settings: BillingSettings) -> None:
    pdf.para("The details", 13, "B", 1)
    pdf.para(
        f"{'Invoice' if letter.doc_type == 'invoice' else 'Credit note'} {number}   Date {_d(letter.issue_date)}   "
        f"Account {letter.account_number}",
        10,
        gap=2,
    )
    pt = pdf.size(10)
    pdf.set_font("body" if pdf.unicode else "helvetica", "", pt)
    width = pdf.w - pdf.l_margin - pdf.r_margin
    with pdf.table(
        col_widths=(width * 0.78, width * 0.22), text_align=("LEFT", "RIGHT"), line_height=pt * 0.55
    ) as table:
        head = table.row()
        head.cell("What for")
        head.cell("Amount")
        for line in letter.lines:
            row = table.row()
            row.cell(pdf.text(line.description))
            row.cell(pdf.text(money(line.net_pence)))
        for label, amount in (
            ("Total before VAT", letter.net_pence),
            ("VAT", letter.vat_pence),
            ("Total", letter.gross_pence),
        ):
            row = table.row()
            row.cell(pdf.text(label))
            row.cell(pdf.text(money(amount)))
    pdf.ln(2)
    statement = VAT_STATEMENTS[letter.vat_treatment]
    if letter.vat_treatment == "standard" and settings.vat_number:
        statement += f" VAT registration number {settings.vat_number}."
    pdf.para(statement, 10, gap=1)
    pdf.para(
        "Equipment, extra sensors and the Enhanced Response Service are included at no extra charge.", 10
    )
