// The live alarm queue: every open alarm, most urgent first, with its age ticking.

import { h, replace } from "./dom.js";
import { age, clockTime } from "./time.js";

export const HIGH_PRIORITY = 20; // ranks 1..20: fire / smoke / heat / CO, falls, pendants, pull-cords

const CATEGORY_LABEL = {
  environmental: "Fire / environment",
  personal: "Personal",
  activity: "Activity / care",
  technical: "Technical",
  test: "Test",
};

const STATUS_LABEL = {
  queued: "Waiting",
  accepted: "Accepted",
  in_progress: "In progress",
  dispatched: "Responder sent",
  on_scene: "On scene",
  closed: "Closed",
};

// Fire and falls are told apart at a glance: a mark with words, a shape and a colour (never colour alone).
export function hazardMark(alarm) {
  if (alarm.hazard === "fire") {
    const text = `${alarm.title} ${alarm.device_type || ""}`.toLowerCase();
    const fire = !/flood|environmental monitor/.test(text); // smoke, heat, CO
    return h("span", { class: `hazard hazard-${fire ? "fire" : "env"}`, "data-hazard": alarm.hazard },
      h("span", { class: "hazard-icon", "aria-hidden": "true" }, fire ? "▲" : "◆"), fire ? "FIRE" : "ENVIRONMENT");
  }
  if (alarm.hazard === "fall") {
    return h("span", { class: "hazard hazard-fall", "data-hazard": "fall" },
      h("span", { class: "hazard-icon", "aria-hidden": "true" }, "▼"), "FALL");
  }
  return null;
}

export function isHigh(alarm) {
  return alarm.priority <= HIGH_PRIORITY;
}

export function sortQueue(alarms) {
  return [...alarms].sort(
    (a, b) => a.priority - b.priority || Date.parse(a.raised_at) - Date.parse(b.raised_at) || a.id - b.id,
  );
}

export function who(alarm) {
  if (alarm.customer) return `${alarm.customer.name} · ${alarm.customer.postcode}`;
  return alarm.unknown_unit ? `Unknown unit ${alarm.cid}` : `Unit ${alarm.cid}`;
}

export function statusLabel(status) {
  return STATUS_LABEL[status] || status;
}

export function categoryLabel(category) {
  return CATEGORY_LABEL[category] || category;
}

function row(alarm, { selectedId, me, fresh, onSelect }) {
  const held = alarm.accepted_by;
  const mine = held && me && held.id === me.id;
  const classes = [
    "alarm",
    `cat-${alarm.category}`,
    alarm.hazard ? `hazard-${alarm.hazard}` : "",
    `status-${alarm.status}`,
    isHigh(alarm) ? "high" : "",
    held ? "held" : "unheld",
    mine ? "mine" : "",
    fresh ? "fresh" : "",
    alarm.id === selectedId ? "selected" : "",
  ].filter(Boolean).join(" ");
  const holder = held ? (mine ? "You" : held.name) : "Nobody yet";
  return h("li", { class: classes, dataset: { alarmId: alarm.id } },
    h("button", {
      type: "button",
      class: "alarm-button",
      "aria-current": alarm.id === selectedId ? "true" : null,
      onclick: () => onSelect(alarm.id),
    },
      h("span", { class: "prio", title: `priority ${alarm.priority}` },
        isHigh(alarm) ? "HIGH" : categoryLabel(alarm.category), hazardMark(alarm)),
      h("span", { class: "title" }, alarm.title,
        alarm.activation_count > 1 ? h("span", { class: "repeat", title: "activations" }, ` ×${alarm.activation_count}`) : null),
      h("span", { class: "who" }, who(alarm)),
      h("span", { class: "age", title: `raised ${clockTime(alarm.raised_at)}` },
        h("span", { class: "age-label" }, alarm.status === "queued" ? "waiting " : "open "),
        h("time", { datetime: alarm.raised_at, dataset: { since: alarm.raised_at } }, age(alarm.raised_at))),
      h("span", { class: "state" }, statusLabel(alarm.status)),
      h("span", { class: "holder" }, held ? `Held by ${holder}` : "Unanswered"),
      alarm.reset_at_unit_at ? h("span", { class: "reset" }, "reset at unit") : null,
    ));
}

export function renderQueue(list, alarms, options) {
  const sorted = sortQueue(alarms);
  replace(list, sorted.map((alarm) => row(alarm, { ...options, fresh: options.fresh?.has(alarm.id) })));
  const count = document.getElementById("queue-count");
  if (count) {
    const waiting = sorted.filter((a) => a.status === "queued").length;
    count.textContent = `${sorted.length} open · ${waiting} waiting`;
  }
  const empty = document.getElementById("queue-empty");
  if (empty) empty.hidden = sorted.length > 0;
  return sorted;
}
