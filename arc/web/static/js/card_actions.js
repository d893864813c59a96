// What an operator can do from the card: accept, note, dispatch, record replies, close.

import { h } from "./dom.js";
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
const TASK_LABEL = {
  requested: "Requested", accepted: "Accepted", declined: "Declined", no_answer: "No answer",
  en_route: "En route", arrived: "Arrived", done: "Done", escalated: "Escalated", cancelled: "Cancelled",
};

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

function acceptBlock(card, ctx) {
  const alarm = card.alarm;
  const held = alarm.accepted_by;
  if (alarm.status === "closed") return h("p", { class: "closed-line" }, `Closed: ${alarm.outcome_code || ""}`);
  if (held && ctx.me && held.id === ctx.me.id) return null;
  if (held) return h("p", { class: "warning" }, `${held.name} holds this alarm.`);
  return h("button", {
    type: "button", class: "primary big", "data-action": "accept",
    onclick: (e) => ctx.act(e.currentTarget, () => ctx.actions.accept(alarm.id), "Alarm accepted"),
  }, "Accept alarm");
}

function noteForm(card, ctx) {
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

function responderPlan(card, ctx) {
  const list = card.responders || [];
  const alarmId = card.alarm.id;
  const items = list.map((r) => h("li", { class: r.available_now === false ? "unavailable" : "" },
    h("div", { class: "responder" },
      h("strong", {}, `${r.position}. ${r.name}`),
      r.relationship ? ` (${r.relationship})` : "",
      h("span", { class: "phone" }, ` ${r.phone_primary || ""}`),
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
  return h("div", { class: "dispatch" },
    h("h4", {}, "Responder plan"),
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

function closeForm(card, ctx) {
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

export function actionsPanel(card, ctx) {
  const closed = card.alarm.status === "closed";
  return h("section", { class: "card-section actions", "aria-label": "Actions" },
    acceptBlock(card, ctx),
    closed ? null : noteForm(card, ctx),
    closed ? null : responderPlan(card, ctx),
    closed ? null : closeForm(card, ctx),
  );
}

function taskLine(task, ctx) {
  const name = task.kind === "emergency"
    ? `${task.service || "emergency"}${task.reference ? ` ref ${task.reference}` : ""}`
    : task.responder_name || (task.kind === "ers" ? "ERS" : "responder");
  const open = OPEN_TASK.has(task.status);
  return h("li", { class: `task task-${task.status}`, dataset: { taskId: task.id } },
    h("div", {},
      h("strong", {}, name), ` — `,
      h("span", { class: "task-status" }, TASK_LABEL[task.status] || task.status),
      ` · asked ${clockTime(task.requested_at)}`,
      task.escalate_at && task.status === "requested" ? ` · escalates ${clockTime(task.escalate_at)}` : "",
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
  return h("section", { class: "card-section", "aria-labelledby": "sec-tasks" },
    h("h3", { id: "sec-tasks" }, "Response"),
    tasks.length ? h("ol", { class: "plain tasks" }, tasks.map((t) => taskLine(t, ctx)))
      : h("p", { class: "muted" }, "Nobody dispatched yet."));
}
