// One customer: details, service and unit, responders, hospital stays / holidays, timeline, and
// the changes the TEC team makes after the install (every one audited and shown on the timeline).

import { api, describe, post } from "./api.js";
import { $, facts, h, replace, say } from "./dom.js";
import { dateTime, londonToday } from "./time.js";
import {
  WITHDRAWAL_REASONS, canEdit, canWorkConnections, day, enter, field, input, onSubmit, peripheralFields,
  responderBody, responderFields, select,
} from "./tec.js";

const id = Number(new URLSearchParams(location.search).get("id"));
let me = null;

const call = (path, method, body) => api(path, { method, body });

function action(title, form, open = false) {
  return h("details", { class: "action", open }, h("summary", {}, title), form);
}

function form(fields, submitLabel, run) {
  const el = h("form", { class: "action-form" }, fields, h("div", { class: "form-problems", tabindex: -1 }),
    h("button", { type: "submit", class: "primary" }, submitLabel));
  onSubmit(el, async (values, f) => { await run(values, f); await load(); });
  return el;
}

function person(c, view) {
  const name = [c.given_name, c.family_name].join(" ");
  return h("section", { class: "panel" },
    h("h2", {}, name, c.preferred_name ? h("span", { class: "muted" }, ` (known as ${c.preferred_name})`) : null),
    h("p", {}, h("a", { href: `/history?id=${id}` }, "Call history, flags and chart")),
    view.away ? h("p", { class: "warning away" }, view.away.kind === "hospital" ? "In hospital" : "On holiday",
      ` since ${day(view.away.starts_on)}`, view.away.ends_on ? ` until ${day(view.away.ends_on)}` : "",
      " — alarms are still handled; the alarm card says so.") : null,
    facts([
      ["Case ref", c.case_ref], ["Born", day(c.date_of_birth)],
      ["Address", [c.address_line1, c.address_line2, c.town, c.postcode].filter(Boolean).join(", ")],
      ["Phone", [c.phone_primary, c.phone_secondary].filter(Boolean).join(" / ")],
      ["GP", [c.gp_name, c.gp_phone].filter(Boolean).join(", ")], ["Language", c.language],
      ["Communication", c.communication_needs], ["Key safe", c.has_key_safe_info ? "recorded (shown only to the operator handling an alarm)" : "none recorded"],
    ]),
    c.risk_notes ? h("div", { class: "notes risk" }, h("h4", {}, "Risks"), h("p", {}, c.risk_notes)) : null,
    c.medical_notes ? h("div", { class: "notes medical" }, h("h4", {}, "Medical"), h("p", {}, c.medical_notes),
      h("p", { class: "muted" }, c.medical_notes_shareable
        ? "Shared with ERS responders once they accept a job." : "Not shared with responders."),
      canEdit(me) ? h("button", { type: "button", class: "small", onclick: async () => {
        try {
          await call(`/api/customers/${id}`, "PATCH", { medical_notes_shareable: !c.medical_notes_shareable });
          await load();
        } catch (err) { say(describe(err), "error"); }
      } }, c.medical_notes_shareable ? "Stop sharing with responders" : "Share with responders") : null) : null,
  );
}

function peripheralRow(conn, p) {
  const editable = canWorkConnections(me) && conn.status !== "withdrawn";
  const where = h("input", { name: "location_text", value: p.location_text || "", maxlength: 200, "aria-label": `Where is ${p.device_type} ${p.did}` });
  const moveForm = h("form", { class: "inline-form" }, where, h("button", { type: "submit", class: "small" }, "Move"),
    h("div", { class: "form-problems", tabindex: -1 }));
  onSubmit(moveForm, async (v) => {
    await call(`/api/connections/${conn.id}/peripherals/${p.id}`, "PATCH", { location_text: v.location_text || "" });
    say("Peripheral moved", "ok");
    await load();
  });
  return h("tr", {}, h("td", {}, p.device_type), h("td", {}, p.did),
    h("td", {}, editable ? moveForm : p.location_text || ""),
    h("td", {}, editable ? h("button", { type: "button", class: "small danger", onclick: async () => {
      try { await call(`/api/connections/${conn.id}/peripherals/${p.id}`, "DELETE"); await load(); } catch (err) { say(describe(err), "error"); }
    } }, "Remove") : ""));
}

function connectionActions(conn) {
  if (!canWorkConnections(me)) return null;
  if (conn.status === "withdrawn") {
    if (conn.unit_id && !conn.unit_returned_on) {
      return action("Record the unit's return", form([field("Returned on", input("returned_on", { type: "date", value: londonToday() }))],
        "Record return", (v) => post(`/api/connections/${conn.id}/unit-return`, v)));
    }
    return null;
  }
  return h("div", { class: "actions-list" },
    conn.unit ? action("Add a peripheral", form([peripheralFields("", `np${conn.id}`)], "Add peripheral",
      (v) => post(`/api/connections/${conn.id}/peripherals`, v))) : null,
    action("Swap the unit", form([h("div", { class: "grid" },
      field("New unit number (cid)", input("cid", { inputmode: "numeric", maxlength: 32 })),
      field("Model", input("model", { maxlength: 100 })),
      field("Why", select("reason", [["faulty", "Faulty"], ["damaged", "Damaged"], ["upgrade", "Upgrade"], ["other", "Other"]])),
      field("Swapped on", input("swapped_on", { type: "date", value: londonToday() })),
      field("Old unit returned on", input("old_unit_returned_on", { type: "date" }))),
      h("label", { class: "check" }, input("move_peripherals", { type: "checkbox", checked: true }), " Pair the peripherals with the new unit")],
      "Swap unit", ({ cid, model, ...rest }) => post(`/api/connections/${conn.id}/swap-unit`, { unit: { cid: cid || "", ...(model ? { model } : {}) }, ...rest }))),
    action("Withdraw", form([h("div", { class: "grid" },
      field("Reason", select("reason", WITHDRAWAL_REASONS)),
      field("Withdrawn on", input("withdrawn_on", { type: "date", value: londonToday() })),
      field("Unit returned on", input("unit_returned_on", { type: "date" }), "leave empty if not back yet"))],
      "Withdraw", (v) => post(`/api/connections/${conn.id}/withdraw`, v))),
  );
}

function service(conn) {
  const u = conn.unit;
  const withdrawn = conn.status === "withdrawn";
  return h("section", { class: "panel service-panel", dataset: { connectionId: conn.id } },
    h("h2", {}, "Service ", h("span", { class: `badge status-${conn.status}` }, conn.status)),
    facts([
      ["Installed", day(conn.install_date)], ["Tariff", conn.tariff_code],
      ["6-week review", conn.review_outcome ? `${conn.review_outcome.replace("_", " ")} (${dateTime(conn.review_recorded_at)})`
        : conn.status === "trial" ? `due ${day(conn.review_due_on)}` : null],
      ["Charged from", day(conn.activated_on)],
      ["Withdrawn", withdrawn ? `${day(conn.withdrawn_on)} — ${(WITHDRAWAL_REASONS.find(([k]) => k === conn.withdrawal_reason) || [null, conn.withdrawal_reason.replaceAll("_", " ")])[1]}` : null],
      ["Unit returned", withdrawn && conn.unit_id ? (conn.unit_returned_on ? day(conn.unit_returned_on) : "not yet") : null],
      ["Unit", u ? `${u.cid}${u.model ? ` (${u.model})` : ""}` : "none"],
      ["Last heard", u ? (u.last_heard_at ? dateTime(u.last_heard_at) : "never") : null],
      ["Comms", u ? u.comms_state : null],
    ]),
    conn.peripherals.length ? h("table", { class: "table" },
      h("thead", {}, h("tr", {}, h("th", {}, "Device"), h("th", {}, "did"), h("th", {}, "Where"), h("th", {}, ""))),
      h("tbody", {}, conn.peripherals.map((p) => peripheralRow(conn, p)))) : h("p", { class: "muted" }, "No peripherals."),
    conn.units_history.length > 1 ? h("div", {}, h("h3", {}, "Units"), h("ol", { class: "plain history" },
      conn.units_history.map((a) => h("li", {}, `${a.cid}: ${day(a.assigned_on)} – ${a.ended_on ? day(a.ended_on) : "now"}`,
        a.end_reason ? ` (${a.end_reason.replace("swap:", "swapped: ")})` : "", a.returned_on ? `, returned ${day(a.returned_on)}` : "")))) : null,
    connectionActions(conn),
  );
}

// The same inputs as a new responder, filled in; sends only what the API takes for a change.
function editResponder(r) {
  const el = h("form", { class: "action-form" }, responderFields("", `er${r.id}`), h("div", { class: "form-problems", tabindex: -1 }),
    h("button", { type: "submit", class: "primary" }, "Save changes"));
  const set = (name, value) => { el.querySelector(`[name="${name}"]`).value = value || ""; };
  set("name", r.name);
  set("relationship_to_customer", r.relationship_to_customer);
  set("phone_primary", r.phone_primary);
  set("phone_secondary", r.phone_secondary);
  el.querySelector('[name="holds_key"]').checked = r.holds_key;
  const window = r.availability[0];
  if (window) {
    for (const box of el.querySelectorAll("[data-day]")) box.checked = window.days.includes(Number(box.dataset.day));
    el.querySelector("[data-from]").value = window.start;
    el.querySelector("[data-to]").value = window.end;
  }
  onSubmit(el, async () => {
    const body = responderBody(el, "");
    // an emptied box is a change too: optional ones are cleared, required ones refused at the field
    for (const name of ["name", "phone_primary", "relationship_to_customer", "phone_secondary"]) if (!(name in body)) body[name] = null;
    await call(`/api/responders/${r.id}`, "PATCH", body);
    say(`${body.name || r.name}: saved`, "ok");
    await load();
  });
  return el;
}

function responders(view) {
  const list = view.responders;
  const editable = canEdit(me);
  const move = async (from, to) => {
    const order = list.map((r) => r.id);
    [order[from], order[to]] = [order[to], order[from]];
    try { await call(`/api/customers/${id}/responders/order`, "PUT", { responder_ids: order }); await load(); } catch (err) { say(describe(err), "error"); }
  };
  const addForm = h("form", { class: "action-form" }, responderFields("", "nr"), h("div", { class: "form-problems", tabindex: -1 }),
    h("button", { type: "submit", class: "primary" }, "Add responder"));
  onSubmit(addForm, async () => {
    await post(`/api/customers/${id}/responders`, responderBody(addForm, ""));
    await load();
  });
  return h("section", { class: "panel" }, h("h2", {}, "Responders ", h("span", { class: "count" }, "in call order")),
    list.length ? h("ol", { class: "responders" }, list.map((r, i) => h("li", {},
      h("strong", {}, r.name), r.relationship_to_customer ? ` (${r.relationship_to_customer})` : "", ` — ${r.phone_primary}`,
      r.holds_key ? h("span", { class: "badge key" }, "key") : null,
      r.availability.length ? h("span", { class: "muted" }, ` ${r.availability.map((w) => `${w.days.map((d) => "MTWTFSS"[d]).join("")} ${w.start}–${w.end}`).join(", ")}`) : null,
      editable ? h("span", { class: "row-buttons" },
        h("button", { type: "button", class: "small", disabled: i === 0, "aria-label": `Move ${r.name} up`, onclick: () => move(i, i - 1) }, "▲"),
        h("button", { type: "button", class: "small", disabled: i === list.length - 1, "aria-label": `Move ${r.name} down`, onclick: () => move(i, i + 1) }, "▼"),
        h("button", { type: "button", class: "small danger", onclick: async () => {
          try { await call(`/api/responders/${r.id}`, "DELETE"); await load(); } catch (err) { say(describe(err), "error"); }
        } }, `Remove ${r.name}`)) : null,
      editable ? action(`Change ${r.name}`, editResponder(r)) : null))) : h("p", { class: "warning" }, "No nominated responders."),
    editable ? action("Add a responder", addForm) : null);
}

function away(view) {
  const editable = canEdit(me);
  return h("section", { class: "panel" }, h("h2", {}, "Hospital stays and holidays"),
    view.absences.length ? h("ul", { class: "plain" }, view.absences.map((a) => h("li", {},
      `${a.kind === "hospital" ? "Hospital" : "Holiday"}: ${day(a.starts_on)} – ${a.ends_on ? day(a.ends_on) : "not back yet"}`,
      a.note ? ` (${a.note})` : "",
      editable && !a.ends_on ? h("button", { type: "button", class: "small", onclick: async () => {
        try { await call(`/api/absences/${a.id}`, "PATCH", { ends_on: londonToday() }); await load(); } catch (err) { say(describe(err), "error"); }
      } }, "Back home today") : null))) : h("p", { class: "muted" }, "None recorded."),
    editable ? action("Record a hospital stay or holiday", form([h("div", { class: "grid" },
      field("What", select("kind", [["hospital", "Hospital stay"], ["holiday", "Holiday"]])),
      field("From", input("starts_on", { type: "date", value: londonToday() })),
      field("Until", input("ends_on", { type: "date" }), "leave empty if not known"),
      field("Note", input("note", { maxlength: 200 })))], "Record", (v) => post(`/api/customers/${id}/absences`, v))) : null,
    editable ? action("Move house", form([h("div", { class: "grid" },
      field("New address", input("address_line1", { maxlength: 200 })),
      field("Address line 2", input("address_line2", { maxlength: 200 })),
      field("Town", input("town", { maxlength: 100 })),
      field("Postcode", input("postcode", { maxlength: 10 })),
      field("New phone", input("phone_primary", { type: "tel", maxlength: 20 })),
      field("Moved on", input("moved_on", { type: "date", value: londonToday() })))], "Save new address",
      (v) => post(`/api/customers/${id}/move`, v))) : null);
}

function timeline(view) {
  return h("section", { class: "panel" }, h("h2", {}, "Timeline"),
    h("ol", { class: "plain timeline" }, view.timeline.map((t) => h("li", {},
      h("time", {}, dateTime(t.at)), " ", t.text, h("span", { class: "muted" }, ` — ${t.actor}`)))));
}

async function load() {
  const view = await api(`/api/customers/${id}/overview`);
  document.title = `Lifeline ARC — ${view.customer.given_name} ${view.customer.family_name}`;
  replace($("#customer"), h("div", { class: "customer-layout" },
    h("div", {}, person(view.customer, view), view.connections.map(service)),
    h("div", {}, responders(view), away(view), timeline(view))));
}

async function main() {
  me = await enter(`/customer`, ["tec", "operator", "supervisor"]);
  if (!me) return;
  if (!id) { replace($("#customer"), h("p", {}, "No customer chosen: ", h("a", { href: "/customers" }, "find one"))); return; }
  await load();
}

main().catch((err) => say(describe(err), "error"));
