"""A small server-side SVG renderer for the read side's charts (bars, stacked bars, lines, bands,
reference lines, axes, legend). Chosen over a charting library because the pictures are few and
simple, the output must work offline with the pages' strict CSP (no script, no CDN, no inline
style attributes beyond SVG presentation attributes), and a 10,000-activation history must draw
in milliseconds: this is string building, nothing more. Every text is XML-escaped."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

PALETTE = {
    "attended": "#0b5cad",
    "phone": "#6aa6e0",
    "false": "#e0a020",
    "technical": "#9aa5b1",
    "fall": "#b3101b",
    "flag": "#fde8ea",
    "line": "#16202a",
    "target": "#17703a",
}


def nice_max(value: float) -> float:
    """A round axis top at or above ``value`` whose quarters are round too (1, 2, 4, 8, 10 x 10^n)."""
    if value <= 0:
        return 1.0
    exp = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 4, 8, 10):
        if value <= step * exp:
            return float(step * exp)
    return float(10 * exp)


def _num(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".")


@dataclass
class Chart:
    """One plot area: categories along x (bands), a linear y from 0 to ``y_max``."""

    title: str
    categories: list[str]
    y_max: float
    y_label: str = ""
    width: int = 760
    height: int = 260
    left: int = 48
    right: int = 16
    top: int = 34
    bottom: int = 42
    parts: list[str] = field(default_factory=list)
    legend: list[tuple[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.y_max = nice_max(self.y_max)

    @property
    def plot_w(self) -> float:
        return self.width - self.left - self.right

    @property
    def plot_h(self) -> float:
        return self.height - self.top - self.bottom

    def band(self) -> float:
        return self.plot_w / max(len(self.categories), 1)

    def x(self, index: float) -> float:
        return self.left + index * self.band()

    def y(self, value: float) -> float:
        return self.top + self.plot_h * (1 - min(value, self.y_max) / self.y_max)

    def stacked_bars(self, stacks: list[list[tuple[str, float]]], titles: list[str] | None = None) -> None:
        """One bar per category, segments (colour, value) from the bottom up."""
        w = self.band() * 0.78
        for i, stack in enumerate(stacks):
            base = 0.0
            x = self.x(i) + (self.band() - w) / 2
            tip = f"<title>{escape(titles[i])}</title>" if titles else ""
            for colour, value in stack:
                if value <= 0:
                    continue
                y0, y1 = self.y(base + value), self.y(base)
                self.parts.append(
                    f'<rect x="{x:.1f}" y="{y0:.1f}" width="{w:.1f}" height="{max(y1 - y0, 0.5):.1f}" '
                    f'fill="{colour}">{tip}</rect>'
                )
                base += value

    def line(self, values: list[float | None], colour: str, *, dash: bool = False, label: str = "") -> None:
        points, path = [], []
        for i, v in enumerate(values):
            if v is None:
                if points:
                    path.append(points)
                points = []
                continue
            points.append(f"{self.x(i + 0.5):.1f},{self.y(v):.1f}")
        if points:
            path.append(points)
        extra = ' stroke-dasharray="4 3"' if dash else ""
        for pts in path:
            if len(pts) == 1:
                cx, cy = pts[0].split(",")
                self.parts.append(f'<circle cx="{cx}" cy="{cy}" r="2.5" fill="{colour}"/>')
            else:
                self.parts.append(
                    f'<polyline points="{" ".join(pts)}" fill="none" stroke="{colour}" stroke-width="2"{extra}/>'
                )
        if label:
            self.legend.append((colour, label))

    def reference(self, value: float, colour: str, label: str) -> None:
        y = self.y(value)
        self.parts.append(
            f'<line x1="{self.left}" x2="{self.left + self.plot_w:.1f}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="{colour}" stroke-dasharray="6 4"/>'
            f'<text x="{self.left + self.plot_w - 4:.1f}" y="{y - 4:.1f}" text-anchor="end" '
            f'font-size="10" fill="{colour}">{escape(label)}</text>'
        )

    def span(
        self, first: float, last: float, label: str, colour: str = PALETTE["flag"], row: int = 0
    ) -> None:
        """A shaded band over categories ``first``..``last`` (fractions allowed), labelled at the top."""
        x0, x1 = self.x(max(first, 0)), self.x(min(last, len(self.categories)))
        if x1 <= x0:
            return
        self.parts.insert(
            0,
            f'<rect x="{x0:.1f}" y="{self.top}" width="{x1 - x0:.1f}" height="{self.plot_h:.1f}" '
            f'fill="{colour}"><title>{escape(label)}</title></rect>'
            f'<text x="{x0 + 3:.1f}" y="{self.top + 11 + 11 * row}" font-size="10" fill="#b3101b">{escape(label)}</text>',
        )

    def markers(self, counts: list[int], colour: str, label: str) -> None:
        """A small triangle with a count over each category that has one (e.g. falls)."""
        for i, n in enumerate(counts):
            if n <= 0:
                continue
            cx, cy = self.x(i + 0.5), self.top - 6
            self.parts.append(
                f'<path d="M{cx - 4:.1f},{cy - 6:.1f} L{cx + 4:.1f},{cy - 6:.1f} L{cx:.1f},{cy + 1:.1f} Z" '
                f'fill="{colour}"><title>{n} {escape(label)}</title></path>'
            )
        self.legend.append((colour, label))

    def _axes(self) -> str:
        out = []
        for k in range(5):
            v = self.y_max * k / 4
            y = self.y(v)
            out.append(
                f'<line x1="{self.left}" x2="{self.left + self.plot_w:.1f}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e3e7eb"/>'
                f'<text x="{self.left - 5}" y="{y + 3:.1f}" text-anchor="end" font-size="10">{_num(v)}</text>'
            )
        step = max(1, math.ceil(len(self.categories) / 12))
        for i, cat in enumerate(self.categories):
            if i % step == 0:
                out.append(
                    f'<text x="{self.x(i + 0.5):.1f}" y="{self.top + self.plot_h + 14:.1f}" text-anchor="middle" '
                    f'font-size="10">{escape(cat)}</text>'
                )
        out.append(
            f'<text x="12" y="{self.top + self.plot_h / 2:.1f}" font-size="10" '
            f'transform="rotate(-90 12 {self.top + self.plot_h / 2:.1f})" text-anchor="middle">'
            f"{escape(self.y_label)}</text>"
        )
        return "".join(out)

    def _legend(self) -> str:
        out, x = [], self.left
        y = self.height - 10
        for colour, label in self.legend:
            out.append(
                f'<rect x="{x}" y="{y - 9}" width="10" height="10" fill="{colour}"/>'
                f'<text x="{x + 14}" y="{y}" font-size="11">{escape(label)}</text>'
            )
            x += 24 + 6.5 * len(label)
        return "".join(out)

    def body(self, dy: float = 0) -> str:
        return (
            f'<g transform="translate(0 {dy:.0f})">'
            f'<text x="{self.left}" y="16" font-size="13" font-weight="700">{escape(self.title)}</text>'
            f"{self._axes()}{''.join(self.parts)}{self._legend()}</g>"
        )


def document(charts: list[Chart], title: str, description: str) -> str:
    """One SVG holding ``charts`` stacked vertically."""
    width = max(c.width for c in charts)
    height, bodies = 0, []
    for c in charts:
        bodies.append(c.body(height))
        height += c.height
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-label={quoteattr(title)} '
        f'font-family="system-ui, sans-serif" fill="#16202a">'
        f"<title>{escape(title)}</title><desc>{escape(description)}</desc>"
        f'<rect width="{width}" height="{height}" fill="#fff"/>{"".join(bodies)}</svg>'
    )
