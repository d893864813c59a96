// The supervisor's page: who holds what and for how long, re-assign / release, KPIs per shift and
// per operator, key safes that could not be read, outcome codes and call scripts.

import { api, describe, post } from "./api.js";
import { $, h, replace, say } from "./dom.js";
import { startPage, stamp, table } from "./nav.js";
import { age, clockTime, londonToday, startAgeTicker, syncServerClock } from "./time.js";

const REFRESH_MS = 10_000;
let handlers = [];

function pct(v) {
  return v == null ? "—" : `${Number(v).toFixed(1)} %`;
}

function reassignForm(alarm, holder) {
  const to = h("select", { name: `to-${alarm.id}`, "aria-label": `Give alarm ${alarm.id} to` },
    h("option", { value: "" }, "Release to the queue"),
    handlers.filter((u) => u.id !== holder.id).map((u) => h("option", { value: u.id }, u.name)));
  return h("form", {
    class: "inline-form reassign",
    onsubmit: async (e) => {
      e.preventDefault();
      const body = { to_user_id: to.value ? Number(to.value) : null };
      try {
        await post(`/api/alarms/${alarm.id}/reassign`, body);
        say(to.value ? "Alarm re-assigned" : "Alarm released to the queue", "ok");
        await load();
      } catch (err) {
        say(describe(err), "error");
      }
    },
  }, to, h("button", { type: "submit", "data-action": "reassign" }, "Move"));
}

function holdings() {
  const rows = [];
  for (const u of handlers) {
    if (!u.holding.length) {
      rows.push(h("tr", {}, h("td", {}, u.name), h("td", { colspan: 3, class: "muted" }, "No alarm held")));
    }
    for (const a of u.holding) {
      rows.push(h("tr", { dataset: { alarmId: a.id } },
        h("td", {}, u.name),
        h("td", {}, h("a", { href: `/dashboard#alarm-${a.id}` }, a.title)),
        h("td", {}, "held for ", h("time", { dataset: { since: a.accepted_at } }, age(a.accepted_at)),
          ` (since ${clockTime(a.accepted_at)})`),
        h("td", {}, reassignForm(a, u))));
    }
  }
  return h("section", { class: "panel", "aria-labelledby": "h-hold" },
    h("h2", { id: "h-hold" }, "Operators and the alarms they hold"),
    table(["Operator", "Alarm", "Held", "Re-assign or release"], rows, { id: "holdings" }));
}

function kpiTable(title, id, data, keyLabel) {
  const rows = (data.rows || []).map((r) => h("tr", {},
    h("td", {}, String(r.key ?? "—")), h("td", {}, String(r.alarms ?? 0)),
    h("td", {}, pct(r.answered_60s_pct)), h("td", {}, pct(r.answered_180s_pct)),
    h("td", {}, r.median_answer_s != null ? `${Math.round(r.median_answer_s)} s` : "—")));
  return h("section", { class: "panel", "aria-labelledby": id },
    h("h2", { id }, title),
    table([keyLabel, "Alarms", "Within 60 s", "Within 180 s", "Median answer"], rows));
}

function notices(list) {
  return h("section", { class: "panel", "aria-labelledby": "h-notices" },
    h("h2", { id: "h-notices" }, "Key safes that could not be read"),
    list.items.length
      ? h("ul", { class: "plain notices-list" }, list.items.map((n) => h("li", { class: "warning" },
        `${clockTime(n.at)} — customer ${n.customer_id}${n.alarm_id ? `, alarm ${n.alarm_id}` : ""}: `,
        `${n.reported_by} could not read the key-safe information. Re-enter it in the registry.`)))
      : h("p", { class: "muted" }, "None: every key safe read when it was needed."));
}

function outcomesEditor(list) {
  const code = h("input", { name: "code", required: true, pattern: "[a-z][a-z0-9_]{0,31}", maxlength: 32 });
  const label = h("input", { name: "label", required: true, maxlength: 200 });
  const rows = list.map((o) => {
    const text = h("input", { value: o.label, "aria-label": `Label of ${o.code}`, maxlength: 200 });
    return h("tr", {}, h("td", {}, h("code", {}, o.code)), h("td", {}, text),
      h("td", {}, o.active ? "in use" : "retired"),
      h("td", {},
        h("button", { type: "button", class: "small", onclick: () => save(`/api/outcomes/${o.code}`, { label: text.value }, "PATCH") }, "Save"),
        " ",
        h("button", { type: "button", class: "small", onclick: () => save(`/api/outcomes/${o.code}`, { active: !o.active }, "PATCH") },
          o.active ? "Retire" : "Bring back")));
  });
  return h("section", { class: "panel", "aria-labelledby": "h-outcomes" },
    h("h2", { id: "h-outcomes" }, "Outcome codes"),
    table(["Code", "Label", "State", ""], rows),
    h("form", { class: "inline-form", onsubmit: (e) => { e.preventDefault(); save("/api/outcomes", { code: code.value, label: label.value }); } },
      h("div", { class: "field" }, h("label", { for: "new-code" }, "New code"), Object.assign(code, { id: "new-code" })),
      h("div", { class: "field" }, h("label", { for: "new-label" }, "Label"), Object.assign(label, { id: "new-label" })),
      h("button", { type: "submit" }, "Add outcome")));
}

function scriptsEditor(list) {
  const items = list.map((s) => {
    const text = h("textarea", { rows: 4, "aria-label": `Script for ${s.match}` }, s.text);
    return h("li", {}, h("h3", {}, s.match), text,
      h("button", { type: "button", class: "small", onclick: () => save(`/api/scripts/${s.id}`, { text: text.value }, "PATCH") }, "Save script"));
  });
  return h("section", { class: "panel", "aria-labelledby": "h-scripts" },
    h("h2", { id: "h-scripts" }, "Call scripts"), h("ul", { class: "plain scripts" }, items));
}

async function save(path, body, method = "POST") {
  try {
    await api(path, { method, body });
    say("Saved", "ok");
    await loadSettings();
  } catch (err) {
    say(describe(err), "error");
  }
}

async function loadSettings() {
  const [outcomeList, scriptList] = await Promise.all([api("/api/outcomes?include_inactive=true"), api("/api/scripts")]);
  replace($("#settings"), outcomesEditor(outcomeList), scriptsEditor(scriptList));
}

async function load() {
  try {
    const day = londonToday();
    const [who, shifts, operators, unreadable] = await Promise.all([
      api("/api/operators"),
      api(`/api/kpis?from=${day}&to=${day}&group=shift`),
      api(`/api/kpis?from=${day}&to=${day}&group=operator`),
      api("/api/key-safe/unreadable"),
    ]);
    syncServerClock(who.now);
    handlers = who.items;
    replace($("#live"), notices(unreadable), holdings(),
      h("div", { class: "two" }, kpiTable("Today by shift", "h-shift", shifts, "Shift"),
        kpiTable("Today by operator", "h-op", operators, "Operator")));
    stamp(true, `Updated ${clockTime(new Date().toISOString())}`);
  } catch (err) {
    stamp(false, `Not updated: ${describe(err)}`);
  }
}

startPage(["supervisor", "admin"], async () => {
  replace($("#main"), h("div", { id: "live" }), h("div", { id: "settings" }));
  startAgeTicker(document);
  await load();
  await loadSettings();
  setInterval(load, REFRESH_MS);
});
