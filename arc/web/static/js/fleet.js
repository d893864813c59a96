// The fleet in one look: counts by state, filters, every unit's comms state; a unit's comms history.

import { api, describe } from "./api.js";
import { $, facts, h, replace } from "./dom.js";
import { startPage, stamp, table } from "./nav.js";
import { age, clockTime, dateTime, startAgeTicker, syncServerClock } from "./time.js";

const COUNTS = [
  ["units", "units"], ["heard", "heard on time"], ["no_comms", "no comms"], ["never_heard", "never heard"],
  ["silent_24h", "silent > 24 h"], ["mobile_only", "on mobile only"], ["mains_failed", "mains failed"],
  ["battery_low", "battery low"], ["technical", "open technical alarms"],
];
const PATH = { ip: "IP", mobile: "mobile only", none: "no path", unknown: "unknown" };
const KIND = { no_comms: "no comms", mains_failure: "mains", battery_low: "battery", link_failure: "link", tamper: "tamper", temperature: "temperature" };

function filters() {
  const q = new URLSearchParams(location.search);
  const box = (name, label) => h("label", { class: "check" },
    h("input", { type: "checkbox", name, checked: q.get(name) === "true" }), ` ${label}`);
  const hours = h("input", { type: "number", name: "silent_hours", min: 1, step: 1, value: q.get("silent_hours") || "", id: "silent-hours" });
  return h("form", {
    class: "inline-form fleet-filters", "aria-label": "Filter the fleet",
    onsubmit: (e) => {
      e.preventDefault();
      const out = new URLSearchParams();
      if (hours.value) out.set("silent_hours", hours.value);
      for (const el of e.currentTarget.querySelectorAll("input[type=checkbox]")) if (el.checked) out.set(el.name, "true");
      history.replaceState(null, "", `/fleet${out.toString() ? `?${out}` : ""}`);
      load();
    },
  }, h("div", { class: "field" }, h("label", { for: "silent-hours" }, "Silent for more than (hours)"), hours),
  box("mobile_only", "on mobile only"), box("battery_low", "battery low"), box("never_heard", "never heard"),
  box("mains_failed", "mains failed"), box("technical", "open technical alarm"),
  h("button", { type: "submit" }, "Filter"));
}

function unitRow(u) {
  const bad = (v) => (v === "failed" ? "bad" : "");
  return h("tr", { dataset: { cid: u.cid } },
    h("td", {}, h("a", { href: `/fleet#unit-${u.cid}` }, u.cid)),
    h("td", {}, [u.model, u.firmware].filter(Boolean).join(" · ") || "—"),
    h("td", {}, u.last_heard_at ? [h("time", { datetime: u.last_heard_at, dataset: { since: u.last_heard_at } }, age(u.last_heard_at)), " ago"] : h("strong", {}, "never")),
    h("td", {}, u.heartbeat_interval_minutes ? `${u.heartbeat_interval_minutes} min` : "—"),
    h("td", {}, PATH[u.path] || u.path),
    h("td", { class: bad(u.ip_link) }, u.ip_link), h("td", { class: bad(u.mobile_link) }, u.mobile_link),
    h("td", { class: bad(u.mains) }, u.mains), h("td", { class: u.battery_low ? "bad" : "" }, u.battery_low ? "LOW" : "ok"),
    h("td", {}, u.open_technical.map((k) => KIND[k] || k).join(", ")));
}

async function showUnit(cid) {
  const box = $("#unit");
  try {
    const d = await api(`/api/fleet/units/${encodeURIComponent(cid)}`);
    const u = d.unit;
    replace(box, h("h2", { id: "unit-title", tabindex: "-1" }, `Unit ${u.cid}`),
      facts([["Model", u.model], ["Firmware", u.firmware], ["Last heard", dateTime(u.last_heard_at) || "never"],
        ["Heartbeat", u.heartbeat_interval_minutes ? `every ${u.heartbeat_interval_minutes} min` : null],
        ["Path", PATH[u.path]], ["IP link", u.ip_link], ["Mobile link", u.mobile_link], ["Mains", u.mains],
        ["Battery", u.battery_low ? "LOW" : "ok"]]),
      h("h3", {}, "Technical alarms"),
      d.technical_alarms.length ? table(["Raised", "What", "State"], d.technical_alarms.map((a) => h("tr", {},
        h("td", {}, dateTime(a.raised_at)), h("td", {}, a.title), h("td", {}, a.status === "closed" ? `closed ${dateTime(a.closed_at)}` : "OPEN"))))
        : h("p", { class: "muted" }, "None."),
      h("h3", {}, "Messages from the unit (newest first)"),
      d.messages.length ? table(["When", "What", "Detail", "Answer"], d.messages.map((m) => h("tr", {},
        h("td", {}, `${dateTime(m.at)} ${clockTime(m.at)}`), h("td", {}, m.what), h("td", {}, m.detail || ""), h("td", {}, m.answer == null ? "" : `snu ${m.answer}`))))
        : h("p", { class: "muted" }, "No messages kept."));
    box.hidden = false;
    $("#unit-title").focus();
  } catch (err) {
    replace(box, h("p", { class: "warning" }, describe(err)));
    box.hidden = false;
  }
}

async function load() {
  try {
    const data = await api(`/api/fleet${location.search}`);
    syncServerClock(data.now);
    replace($("#counts"), COUNTS.map(([key, label]) => h("div", { class: `wall-tile small-tile ${key !== "units" && key !== "heard" && data.counts[key] ? "miss" : ""}`, dataset: { count: key } },
      h("span", { class: "wall-value" }, String(data.counts[key] ?? 0)), h("span", { class: "wall-label" }, label))));
    replace($("#units"), h("p", { class: "muted" }, `${data.total} units match (${data.items.length} shown, silent longest first)`),
      table(["Unit", "Model · firmware", "Last heard", "Heartbeat", "Path", "IP", "Mobile", "Mains", "Battery", "Open technical"],
        data.items.map(unitRow), { id: "fleet" }));
    stamp(true, `Updated ${clockTime(new Date().toISOString())}`);
  } catch (err) {
    stamp(false, `Not updated: ${describe(err)}`);
  }
}

function route() {
  const m = /^#unit-(\d+)$/.exec(location.hash);
  if (m) showUnit(m[1]);
  else $("#unit").hidden = true;
}

startPage(["supervisor", "admin", "tec"], async () => {
  replace($("#main"), h("div", { id: "counts", class: "wallboard counts", role: "region", "aria-label": "Units by state" }),
    filters(), h("section", { id: "unit", class: "panel", hidden: true, "aria-live": "polite" }), h("div", { id: "units" }));
  startAgeTicker(document);
  await load();
  route();
  window.addEventListener("hashchange", route);
  setInterval(load, 30_000);
});
