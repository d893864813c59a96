// What an operator can do from the card: accept, call, note, dispatch, record replies, close.

import { h, say, tel } from "./dom.js";
import { clockTime } from "./time.js";

const OPEN_TASK = new Set(["requested", "accepted", "en_route", "arrived"]);
const TASK_REPLIES = [
  ["accepted", "Accepted"],
  ["declined", "Declined"],
  ["no_answer", "No answer"],
  ["en_route", "En route"],
  ["arrived", "Arrived"],
  ["done", "Done"],
];
export const TASK_LABEL = {
  requested: "Requested", accepted: "Accepted", declined: "Declined", no_answer: "No answer",
  en_route: "En route", arrived: "Arrived", done: "Done", escalated: "Escalated", cancelled: "Cancelled",
};
export const CALL_RESULTS = [
  ["answered", "Answered"], ["no_answer", "No answer"], ["busy", "Busy"], ["voicemail", "Voicemail"],
  ["wrong_number", "Wrong number"],
];

let formSeq = 0;

// The card may have been redrawn (live update) while a request ran: clear the field on screen too.
function clearField(control) {
  control.value = "";
  const shown = document.querySelector(`#card [name="${control.name}"]`);
  if (shown) shown.value = "";
}

function field(labelText, control) {
  const id = control.id || `f${++formSeq}`;
  control.id = id;
  return h("div", { class: "field" }, h("label", { for: id }, labelText), control);
}

// "M. Whitfield (daughter)" already says who she is: do not say it twice.
export function responderName(r) {
  const rel = r.relationship && !r.name.toLowerCase().includes(r.relationship.toLowerCase()) ? ` (${r.relationship})` : "";
  return `${r.name}${rel}`;
}

export function acceptBlock(card, ctx) {
  const alarm = card.alarm;
  const held = alarm.accepted_by;
  if (alarm.status === "closed") return null;
  if (held && ctx.me && held.id === ctx.me.id) return null;
  if (held) return h("p", { class: "warning" }, `${held.name} holds this alarm.`);
  return h("section", { class: "card-section actions", "aria-label": "Accept" },
    h("button", {
      type: "button", class: "primary big", "data-action": "accept", "aria-keyshortcuts": "A",
      onclick: (e) => ctx.act(e.currentTarget, () => ctx.actions.accept(alarm.id), "Alarm accepted"),
    }, "Accept alarm"),
    h("p", { class: "muted small" }, "Key safe, call script and responder plan show once you accept."));
}

export function noteForm(card, ctx) {
  const text = h("textarea", { rows: 2, maxlength: 2000, required: true, name: "note" });
  return h("form", {
    class: "inline-form", "aria-label": "Add a note",
    onsubmit: (e) => {
      e.preventDefault();
      const value = text.value.trim();
      if (!value) return;
      ctx.act(e.submitter, async () => {
        await ctx.actions.note(card.alarm.id, value);
        clearField(text);
      }, "Note added");
    },
  }, field("Note", text), h("button", { type: "submit", "data-action": "note" }, "Add note"));
}

// Who the operator can phone about this alarm: the person, each responder, the unit's caller id.
function callees(card) {
  const out = [];
  const c = card.customer;
  if (c && c.phone_primary) out.push({ key: "customer", label: `${c.name} — ${c.phone_primary}`, party: "customer" });
  for (const r of card.responders || []) {
    if (r.phone_primary) {
      out.push({ key: `r${r.id}`, label: `${responderName(r)} — ${r.phone_primary}`, party: "responder", responder_id: r.id });
    }
  }
  for (const number of card.caller?.caller_ids || []) {
    out.push({ key: `c${number}`, label: `Caller id ${number}`, party: "caller_id" });
  }
  return out;
}

// The number of the party a log entry names (the log itself never carries numbers).
export function partyNumber(card, d) {
  if (d.party === "customer") return card.customer?.phone_primary || null;
  return (card.responders || []).find((r) => r.id === d.responder_id)?.phone_primary || null;
}

// The click-to-dial gateway's last word, when it did not take the call: dial by hand, now.
function dialRefused(card) {
  const last = [...(card.events || [])].reverse().find((e) => ["dial", "dial_sent", "dial_failed"].includes(e.type));
  if (!last || last.type !== "dial_failed") return null;
  const d = last.data || {};
  const number = partyNumber(card, d);
  return h("p", { class: "warning", role: "alert", "data-testid": "dial-failed" },
    "The dial gateway did not take the call — ", number ? ["dial ", tel(number), " by hand"] : "dial the number by hand",
    d.reason ? ` (${d.reason}).` : ".");
}

export function callForm(card, ctx) {
  const list = callees(card);
  if (!list.length) return null;
  return [dialRefused(card), callFormFor(card, ctx, list)];
}

function callFormFor(card, ctx, list) {
  const whom = h("select", { name: "call-to" }, list.map((p) => h("option", { value: p.key }, p.label)));
  const result = h("select", { name: "call-result" }, CALL_RESULTS.map(([v, l]) => h("option", { value: v }, l)));
  return h("form", {
    class: "inline-form calls", "aria-label": "Record a call",
    onsubmit: (e) => {
      e.preventDefault();
      const p = list.find((x) => x.key === whom.value);
      const body = { party: p.party, result: result.value };
      if (p.responder_id) body.responder_id = p.responder_id;
      ctx.act(e.submitter, () => ctx.actions.call(card.alarm.id, body), "Call recorded");
    },
  }, field("Called", whom), field("Result", result),
  h("button", {
    type: "button", "data-action": "dial",
    onclick: (e) => {
      const p = list.find((x) => x.key === whom.value);
      if (p.party === "caller_id") { say("Dial the caller id yourself (its tel: link); then record the call.", "error"); return; }
      const body = { party: p.party };
      if (p.responder_id) body.responder_id = p.responder_id;
      ctx.act(e.currentTarget, () => ctx.actions.dial(card.alarm.id, body),
        (out) => (out.gateway === "webhook" ? "The phone system is ringing the call through" : "Call noted: dial the number yourself"));
    },
  }, "Call"), " ",
  h("button", { type: "submit", "data-action": "record-call" }, "Record call"));
}

export function responderPlan(card, ctx) {
  const list = card.responders || [];
  const alarmId = card.alarm.id;
  const items = list.map((r) => h("li", { class: r.available_now === false ? "unavailable" : "" },
    h("div", { class: "responder" },
      h("strong", {}, `${r.position}. ${responderName(r)}`), " ",
      tel(r.phone_primary), r.phone_secondary ? [" / ", tel(r.phone_secondary)] : null,
      r.holds_key ? h("span", { class: "badge key" }, "holds key") : null,
      r.available_now === false ? h("span", { class: "badge muted" }, "not available now") : null),
    h("button", {
      type: "button", "data-action": "dispatch-responder", "data-responder-id": r.id,
      onclick: (e) => ctx.act(e.currentTarget,
        () => ctx.actions.dispatch(alarmId, { kind: "responder", responder_id: r.id }), `${r.name} asked to attend`),
    }, `Dispatch ${r.name}`)));
  const service = h("select", { name: "service" },
    ["ambulance", "fire", "police"].map((s) => h("option", { value: s }, s)));
  const reference = h("input", { type: "text", name: "reference", maxlength: 64, autocomplete: "off" });
  return h("section", { class: "card-section dispatch", "aria-labelledby": "sec-plan" },
    h("h3", { id: "sec-plan" }, "Responder plan"),
    items.length ? h("ol", { class: "plain plan" }, items) : h("p", { class: "muted" }, "No nominated responders."),
    h("div", { class: "dispatch-row" },
      h("button", {
        type: "button", "data-action": "dispatch-ers",
        onclick: (e) => ctx.act(e.currentTarget, () => ctx.actions.dispatch(alarmId, { kind: "ers" }), "ERS requested"),
      }, "Send ERS")),
    h("form", {
      class: "inline-form emergency", "aria-label": "Emergency services",
      onsubmit: (e) => {
        e.preventDefault();
        const body = { kind: "emergency", service: service.value };
        if (reference.value.trim()) body.reference = reference.value.trim();
        ctx.act(e.submitter, async () => {
          await ctx.actions.dispatch(alarmId, body);
          clearField(reference);
        }, `${service.value} recorded`);
      },
    }, field("999 service", service), field("999 reference", reference),
    h("button", { type: "submit", class: "danger", "data-action": "dispatch-emergency" }, "Record 999 call")),
  );
}

export function closeForm(card, ctx) {
  const outcome = h("select", { name: "outcome", required: true },
    h("option", { value: "" }, "Choose an outcome…"),
    (ctx.outcomes || []).map((o) => h("option", { value: o.code }, o.label)));
  const note = h("input", { type: "text", name: "close-note", maxlength: 2000 });
  return h("form", {
    class: "inline-form close", "aria-label": "Close the alarm",
    onsubmit: (e) => {
      e.preventDefault();
      if (!outcome.value) {
        outcome.focus();
        return;
      }
      const body = { outcome_code: outcome.value };
      if (note.value.trim()) body.note = note.value.trim();
      ctx.act(e.submitter, () => ctx.actions.close(card.alarm.id, body), "Alarm closed");
    },
  }, field("Outcome", outcome), field("Closing note", note),
  h("button", { type: "submit", "data-action": "close" }, "Close alarm"));
}

// What the holder does: call, note, close — one panel under the plan.
export function actionsPanel(card, ctx) {
  return h("section", { class: "card-section actions", "aria-label": "Actions" },
    callForm(card, ctx), noteForm(card, ctx), closeForm(card, ctx));
}

function taskLine(task, ctx, closed) {
  const name = task.kind === "emergency"
    ? `${task.service || "emergency"}${task.reference ? ` ref ${task.reference}` : ""}`
    : task.responder_name || (task.kind === "ers" ? "ERS" : "responder");
  const open = OPEN_TASK.has(task.status) && !closed;
  return h("li", { class: `task task-${task.status}`, dataset: { taskId: task.id } },
    h("div", {},
      h("strong", {}, name), ` — `,
      h("span", { class: "task-status" }, TASK_LABEL[task.status] || task.status),
      ` · asked ${clockTime(task.requested_at)}`,
      task.escalate_at && task.status === "requested" && !closed ? ` · escalates ${clockTime(task.escalate_at)}` : "",
      task.note ? h("div", { class: "muted" }, task.note) : null),
    open && task.kind !== "emergency" ? h("div", { class: "task-replies", role: "group", "aria-label": `Reply from ${name}` },
      TASK_REPLIES.map(([status, label]) => h("button", {
        type: "button", class: "small", "data-task-status": status,
        onclick: (e) => ctx.act(e.currentTarget, () => ctx.actions.taskStatus(task.id, { status }), `${name}: ${label}`),
      }, label))) : null,
  );
}

export function tasksList(card, ctx) {
  const tasks = card.tasks || [];
  const closed = card.alarm.status === "closed";
  return h("section", { class: "card-section", "aria-labelledby": "sec-tasks" },
    h("h3", { id: "sec-tasks" }, "Response"),
    tasks.length ? h("ol", { class: "plain tasks" }, tasks.map((t) => taskLine(t, ctx, closed)))
      : h("p", { class: "muted" }, "Nobody dispatched yet."));
}
