// The alarm card: everything about the person and the alarm on one screen, and what to do next.

import { facts, h, replace, tel } from "./dom.js";
import { categoryLabel, hazardMark, isHigh, statusLabel, who } from "./queue.js";
import { age, clockTime, dateTime } from "./time.js";
import {
  CALL_RESULTS, TASK_LABEL, acceptBlock, actionsPanel, partyNumber, responderPlan, tasksList,
} from "./card_actions.js";

function section(title, ...content) {
  const id = `sec-${title.toLowerCase().replace(/[^a-z]+/g, "-")}`;
  return h("section", { class: "card-section", "aria-labelledby": id },
    h("h3", { id }, title), ...content);
}

function yesNo(value) {
  return value === true ? "yes" : value === false ? "no" : null;
}

const EVENT_LABEL = {
  received: "Alarm received", raised: "Raised by the system", activation: "Another activation",
  repeat: "Repeated", info: "More information from the unit", reset_at_unit: "Reset at the unit",
  restored: "Fault cleared", accepted: "Accepted", in_progress: "Being handled", note: "Note",
  task_requested: "Responder asked", task_status: "Responder reply", dispatched: "Responder sent",
  on_scene: "Responder on scene", plan_exhausted: "Responder plan used up", closed: "Closed",
  call: "Call", dial: "Calling", reassigned: "Re-assigned", released: "Released to the queue",
  dial_sent: "The phone system is ringing", dial_failed: "The dial gateway did not take the call",
  delivery_failed: "A responder's message did not go out", delivery_gave_up: "Gave up sending a responder's message",
};
const CALL_RESULT = Object.fromEntries(CALL_RESULTS);
const PARTY = { customer: "the person", responder: "a responder", caller_id: "the caller id", gp: "the GP", other: "someone" };

function outcomeLabel(card) {
  const code = card.alarm.outcome_code;
  return card.closing?.outcome_label || (card.outcomes || []).find((o) => o.code === code)?.label || code || "";
}

function header(card, me) {
  const alarm = card.alarm;
  const held = alarm.accepted_by;
  const closed = alarm.status === "closed";
  let holder;
  if (closed) {
    const c = card.closing || {};
    holder = `Closed${c.closed_at ? ` at ${clockTime(c.closed_at)}` : ""}${c.closed_by ? ` by ${c.closed_by}` : ""}: ${outcomeLabel(card)}`;
  } else if (held) holder = me && held.id === me.id ? "You hold this alarm" : `Held by ${held.name}`;
  else holder = "Nobody holds this alarm yet";
  return h("header", { class: `card-head ${isHigh(alarm) ? "high" : ""}` },
    h("h2", { id: "card-title", tabindex: "-1" }, alarm.title),
    h("p", { class: "card-sub" },
      hazardMark(alarm),
      h("span", { class: "badge" }, isHigh(alarm) ? "High priority" : categoryLabel(alarm.category)),
      " ", h("span", { class: "badge status" }, statusLabel(alarm.status)),
      ` · raised ${clockTime(alarm.raised_at)}`,
      closed ? "" : [" · open for ", h("time", { datetime: alarm.raised_at, dataset: { since: alarm.raised_at } }, age(alarm.raised_at))],
      alarm.activation_count > 1 ? ` · ${alarm.activation_count} activations` : "",
    ),
    h("p", { class: `holder-line ${closed ? "closed-line" : ""}`, "data-testid": "holder" }, holder),
  );
}

function callerIds(card) {
  const ids = card.caller?.caller_ids || [];
  return ids.length ? ids.map((n, i) => [i ? ", " : "", tel(n)]) : null;
}

function person(card) {
  const c = card.customer;
  if (!c) {
    const ids = callerIds(card);
    return section("Person", h("p", { class: "warning" },
      `No customer is registered for unit ${card.alarm.cid}. Treat it as a real alarm: `,
      ids ? ["call back on the caller id: ", ids] : "the unit sent no caller id; find the unit's owner through the TEC team."));
  }
  const name = c.preferred_name ? `${c.name} (${c.preferred_name})` : c.name;
  const address = [c.address_line1, c.address_line2, c.town, c.postcode].filter(Boolean).join(", ");
  return section("Person",
    h("p", { class: "person-name" }, name),
    c.risk_notes ? h("div", { class: "notes risk" }, h("h4", {}, "Risks"), h("p", {}, c.risk_notes)) : null,
    facts([
      ["Age", c.age != null ? `${c.age} (born ${c.date_of_birth})` : c.date_of_birth],
      ["Address", address],
      ["Phone", tel(c.phone_primary)],
      ["Other phone", tel(c.phone_secondary)],
      ["Caller id", callerIds(card)],
      ["Language", c.language],
      ["GP", c.gp_name || c.gp_phone ? [c.gp_name || "", c.gp_phone ? [" ", tel(c.gp_phone)] : ""] : null],
    ]),
    c.medical_notes ? h("div", { class: "notes medical" }, h("h4", {}, "Medical"), h("p", {}, c.medical_notes)) : null,
  );
}

const KEY_SAFE_TEXT = {
  not_recorded: "No key-safe information recorded.",
  unreadable: "UNREADABLE: the stored key-safe information cannot be decrypted. A supervisor has been told; ask the responder or the TEC team for the code.",
  not_holder: "Shown to the operator who accepts the alarm.",
  no_customer: "No customer registered.",
};

function keySafe(card) {
  const state = card.key_safe_state || (card.key_safe ? "shown" : "not_holder");
  return section("Key safe",
    card.key_safe
      ? h("p", { class: "keysafe", "data-testid": "key-safe" }, card.key_safe)
      : h("p", { class: state === "unreadable" ? "warning keysafe-unreadable" : "muted", "data-testid": "key-safe-state", dataset: { state } },
        KEY_SAFE_TEXT[state] || state));
}

function activationLine(a) {
  return h("li", {},
    a.at ? h("time", { datetime: a.at }, clockTime(a.at)) : null, " ",
    h("strong", {}, a.device_type || "device"),
    a.status_text ? ` — ${a.status_text}` : "",
    a.location_text ? ` (${a.location_text})` : "",
    a.did ? h("span", { class: "muted" }, ` · device ${a.did}`) : null);
}

function trigger(card) {
  const t = card.trigger || {};
  const geo = t.geo;
  const list = card.activations || [];
  return section("Trigger",
    facts([
      ["Device", t.device_type],
      ["Status", t.status_text],
      ["Where", t.location_text],
    ]),
    list.length ? [h("h4", {}, `Activations (${list.length})`), h("ol", { class: "plain activations" }, list.map(activationLine))] : null,
    geo ? h("p", {},
      "GPS fix ", `${geo.lat.toFixed(5)}, ${geo.lon.toFixed(5)}`, geo.at ? ` at ${clockTime(geo.at)}` : "", " — ",
      h("a", { href: geo.map_url, target: "_blank", rel: "noopener noreferrer" }, "open map")) : null,
  );
}

function unit(card) {
  const u = card.unit;
  if (!u) return null;
  return section("Unit", facts([
    ["Unit", `${u.cid}${u.model ? ` (${u.model})` : ""}`],
    ["Comms", u.comms_state],
    ["IP link", u.ip_link],
    ["Mobile link", u.mobile_link],
    ["Mains", u.mains],
    ["Battery low", yesNo(u.battery_low)],
    ["Last heard", dateTime(u.last_heard_at)],
  ]));
}

function peripherals(card) {
  const list = card.peripherals || [];
  if (!list.length) return null;
  return section("Peripherals", h("ul", { class: "plain" },
    list.map((p) => h("li", {}, `${p.device_type || p.dty} ${p.did ? `(${p.did})` : ""}`,
      p.location_text ? ` — ${p.location_text}` : ""))));
}

function history(card) {
  const list = card.history || [];
  const labels = Object.fromEntries((card.outcomes || []).map((o) => [o.code, o.label]));
  return section("Recent alarms", list.length
    ? h("ol", { class: "plain history" }, list.map((a) => h("li", {},
      `${dateTime(a.raised_at)} — ${a.title}`, a.outcome_code ? ` (${labels[a.outcome_code] || a.outcome_code})` : "")))
    : h("p", { class: "muted" }, "No earlier alarms."));
}

function flags(card) {
  const list = card.flags || [];
  if (!list.length) return null;
  return section("TEC flags", h("ul", { class: "plain flags" },
    list.map((f) => h("li", { class: `flag sev-${f.severity}`, title: f.reason }, f.summary, h("span", { class: "muted" }, ` — ${f.reason}`)))));
}

function script(card) {
  if (!card.script) return null;
  return section("Call script", h("div", { class: "script" }, card.script));
}

function closing(card) {
  const c = card.closing;
  if (!c) return null;
  return section("Outcome", facts([
    ["Outcome", outcomeLabel(card)],
    ["Closing note", c.note],
    ["Closed by", c.closed_by],
    ["Closed at", dateTime(c.closed_at)],
  ]));
}

function callee(d, responders) {
  return d.responder_id && responders[d.responder_id] ? responders[d.responder_id] : PARTY[d.party] || d.party;
}

function eventDetail(e, card) {
  const d = e.data || {};
  const responders = Object.fromEntries((card.responders || []).map((r) => [r.id, r.name]));
  switch (e.type) {
    case "note": return d.text ? `: ${d.text}` : "";
    case "closed": return `: ${outcomeLabel(card)}${d.note ? ` — ${d.note}` : ""}`;
    case "received": case "activation": case "repeat": case "info":
      return d.device_type ? `: ${d.device_type}${d.status_text ? ` — ${d.status_text}` : ""}${d.location_text ? ` (${d.location_text})` : ""}` : "";
    case "task_status": return d.status ? `: ${TASK_LABEL[d.status] || d.status}${d.note ? ` — ${d.note}` : ""}` : "";
    case "task_requested": return d.kind ? `: ${d.kind === "emergency" ? d.service || "999" : d.kind === "ers" ? "ERS" : "nominated responder"}` : "";
    case "call": return `: ${callee(d, responders)} — ${CALL_RESULT[d.result] || d.result}`;
    case "dial": return `: ${callee(d, responders)}${d.gateway === "webhook" ? " (through the phone system)" : ""}`;
    case "dial_sent": return `: ${callee(d, responders)}`;
    case "dial_failed": {
      const number = partyNumber(card, d);
      return [`: ${callee(d, responders)} — dial `, number ? tel(number) : "the number", ` by hand${d.reason ? ` (${d.reason})` : ""}`];
    }
    case "reassigned": return d.to ? ` to ${d.to}${d.reason ? ` (${d.reason})` : ""}` : "";
    case "released": return d.reason ? ` (${d.reason})` : "";
    default: return "";
  }
}

function events(card) {
  const list = card.events || [];
  return section("Log", h("ol", { class: "plain log" }, list.map((e) => h("li", { dataset: { type: e.type } },
    h("time", { datetime: e.at }, clockTime(e.at)), ` ${EVENT_LABEL[e.type] || e.type.replace(/_/g, " ")}`,
    eventDetail(e, card), h("span", { class: "muted" }, ` · ${e.actor}`)))));
}

export function renderCard(container, card, ctx) {
  const alarm = card.alarm;
  const closed = alarm.status === "closed";
  const mine = !closed && alarm.accepted_by && ctx.me && alarm.accepted_by.id === ctx.me.id;
  // ordered for the moment: before accept, who and what and Accept; once held, script, key safe,
  // plan and actions; once closed, the outcome first and nothing to press
  const first = closed
    ? [closing(card), person(card), trigger(card)]
    : mine
      ? [person(card), trigger(card), script(card), keySafe(card), responderPlan(card, ctx), actionsPanel(card, ctx)]
      : [person(card), trigger(card), acceptBlock(card, ctx), keySafe(card), script(card)];
  replace(container,
    header(card, ctx.me),
    h("div", { class: "card-grid" },
      h("div", { class: "card-col" }, ...first),
      h("div", { class: "card-col" },
        tasksList(card, ctx),
        unit(card),
        peripherals(card),
        flags(card),
        history(card),
        events(card),
      ),
    ),
  );
  container.hidden = false;
}

export function renderNoCard(container) {
  replace(container, h("p", { class: "muted placeholder" }, "Pick an alarm from the queue to see its card."));
}

export { who };
