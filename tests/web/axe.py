"""axe-core (vendored from the npm registry, arc/web/static/vendor/axe-core, MPL-2.0) run in the page.

Loaded from our own origin, so the pages' Content-Security-Policy (script-src 'self') allows it;
no page loads it by itself."""

from __future__ import annotations

SERIOUS = ("serious", "critical")
AXE_URL = "/static/vendor/axe-core/axe.min.js"

_RUN = """async () => {
  const result = await window.axe.run(document, { resultTypes: ["violations"] });
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map((n) => `${n.target.join(" ")}: ${n.failureSummary || ""}`.slice(0, 300)),
  }));
}"""


async def serious_violations(page) -> list[dict]:
    """The serious and critical accessibility violations axe-core finds on the page as it is now."""
    if not await page.evaluate("() => Boolean(window.axe)"):
        await page.add_script_tag(url=AXE_URL)
    return [v for v in await page.evaluate(_RUN) if v["impact"] in SERIOUS]
