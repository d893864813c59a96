// Shared by the TEC / business-support pages: who may be here, the top bar, forms that show
// the API's problems at the field they belong to.

import { ApiError, describe, logOut, whoAmI } from "./api.js";
import { $, h, say } from "./dom.js";

const READERS = ["tec", "admin", "operator", "supervisor"];
export const EDITORS = ["tec"]; // customer records; admins work the connection side only

// Sign-in guard: returns the user, or sends them to log in / to their own page.
export async function enter(path, roles = READERS) {
  const me = await whoAmI();
  if (!me) {
    location.assign(`/login?next=${encodeURIComponent(path)}`);
    return null;
  }
  if (!roles.includes(me.role)) {
    location.assign(me.role === "ers" ? "/ers" : "/login");
    return null;
  }
  $("#me").textContent = `${me.full_name} (${me.role})`;
  $("#logout").addEventListener("click", logOut);
  document.body.dataset.role = me.role;
  for (const el of document.querySelectorAll("[data-needs-role]")) {
    el.hidden = !el.dataset.needsRole.split(" ").includes(me.role);
  }
  return me;
}

export const canEdit = (me) => EDITORS.includes(me.role);
export const canWorkConnections = (me) => ["tec", "admin"].includes(me.role);

// Clear the marks a previous attempt left on a form.
export function clearProblems(form) {
  for (const el of form.querySelectorAll(".field-error")) el.remove();
  for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
  const summary = form.querySelector(".form-problems");
  if (summary) summary.replaceChildren();
}

// Show an ApiError's problems next to the inputs named like the API's fields
// (name="customer.postcode", name="responders.0.phone_primary"); the rest in the form's summary.
export function showProblems(form, err, prefix = "") {
  clearProblems(form);
  const body = err instanceof ApiError ? err.body : null;
  let problems = [];
  if (body && Array.isArray(body.detail)) problems = body.detail;
  else if (body && body.field) problems = [{ field: body.field, message: body.detail }];
  else problems = [{ field: "", message: describe(err) }];
  const unplaced = [];
  let first = null;
  for (const problem of problems) {
    const name = prefix + (problem.field || "");
    const input = problem.field ? form.querySelector(`[name="${CSS.escape(name)}"]`) : null;
    if (!input) {
      unplaced.push(problem.field ? `${problem.field}: ${problem.message}` : problem.message);
      continue;
    }
    input.setAttribute("aria-invalid", "true");
    const note = h("p", { class: "field-error", id: `${input.id || name}-error` }, problem.message);
    input.setAttribute("aria-describedby", note.id);
    input.insertAdjacentElement("afterend", note);
    first = first || input;
  }
  const summary = form.querySelector(".form-problems");
  if (unplaced.length && summary) summary.append(...unplaced.map((text) => h("p", { class: "error" }, text)));
  else if (unplaced.length) say(unplaced.join("; "), "error");
  (first || summary)?.focus?.();
}

// Read a form into an object: empty inputs are left out, checkboxes are booleans.
export function values(form) {
  const out = {};
  for (const el of form.elements) {
    if (!el.name || el.disabled || el.type === "submit" || el.type === "button" || el.tagName === "FIELDSET") continue;
    if (el.type === "checkbox") out[el.name] = el.checked;
    else if (el.value.trim() !== "") out[el.name] = el.value.trim();
  }
  return out;
}

// Run ``action`` on submit with the button disabled; problems shown on the form.
export function onSubmit(form, action) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("[type=submit]");
    if (button) button.disabled = true;
    clearProblems(form);
    try {
      await action(values(form), form);
    } catch (err) {
      showProblems(form, err);
    } finally {
      if (button) button.disabled = false;
    }
  });
}

const dayFmt = new Intl.DateTimeFormat("en-GB", { timeZone: "Europe/London", day: "numeric", month: "short", year: "numeric" });

// "2026-11-11" -> "11 Nov 2026" (a calendar date: no zone shift)
export function day(iso) {
  if (!iso) return "";
  const [y, m, d] = iso.split("-").map(Number);
  return dayFmt.format(new Date(Date.UTC(y, m - 1, d, 12)));
}

let seq = 0; // ids must be unique on a page that holds several forms with the same field names

export function field(label, input, hint) {
  const id = input.id || `f-${input.name.replace(/[^a-z0-9]+/gi, "-")}-${++seq}`;
  input.id = id;
  return h("div", { class: "field" }, h("label", { for: id }, label), hint ? h("span", { class: "hint" }, hint) : null, input);
}

export function input(name, attrs = {}) {
  return h("input", { name, ...attrs });
}

export function select(name, options, attrs = {}) {
  return h("select", { name, ...attrs }, options.map(([value, label]) => h("option", { value }, label)));
}

export const WITHDRAWAL_REASONS = [
  ["death", "Death"],
  ["residential_care", "Moved to residential care"],
  ["moved_in_with_family", "Moved in with family"],
  ["cancelled", "Cancelled"],
  ["moved_away", "Moved away"],
];

export const DEVICE_TYPES = [
  ["0003", "Pendant"], ["0004", "Pull-cord"], ["0005", "Fall detector"], ["0023", "Smoke detector"],
  ["0025", "Heat detector"], ["0026", "CO detector"], ["0033", "Flood detector"], ["0012", "Bed monitor"],
  ["0044", "Chair monitor"], ["0014", "Door sensor"], ["0018", "PIR sensor"], ["0011", "Pill dispenser"],
  ["0020", "Temperature monitor"],
];
export const DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

// Inputs for one responder, named as the API's fields under ``prefix`` ("responders.0." or "").
export function responderFields(prefix, key) {
  const id = (name) => `${key}-${name}`;
  return [
    h("div", { class: "grid" },
      field("Name", input(`${prefix}name`, { id: id("name"), maxlength: 200, required: true })),
      field("Relationship", input(`${prefix}relationship_to_customer`, { id: id("rel"), maxlength: 100 })),
      field("Phone", input(`${prefix}phone_primary`, { id: id("phone"), type: "tel", maxlength: 20 })),
      field("Other phone", input(`${prefix}phone_secondary`, { id: id("phone2"), type: "tel", maxlength: 20 })),
    ),
    h("label", { class: "check" }, input(`${prefix}holds_key`, { id: id("key"), type: "checkbox" }), " Holds a key"),
    h("fieldset", { class: "availability", name: `${prefix}availability` },
      h("legend", {}, "Available (none ticked: any time)"),
      DAYS.map((d, i) => h("label", { class: "check" }, h("input", { type: "checkbox", "data-day": i, "aria-label": d }), ` ${d}`)),
      h("label", {}, " from ", h("input", { type: "time", "data-from": "1", value: "09:00", "aria-label": "available from" })),
      h("label", {}, " to ", h("input", { type: "time", "data-to": "1", value: "17:00", "aria-label": "available until" })),
    ),
  ];
}

// Read one responder's inputs back as the API's body.
export function responderBody(root, prefix) {
  const get = (name) => root.querySelector(`[name="${prefix}${name}"]`);
  const body = { holds_key: get("holds_key").checked };
  for (const name of ["name", "relationship_to_customer", "phone_primary", "phone_secondary"]) {
    const value = get(name).value.trim();
    if (value) body[name] = value;
  }
  const days = [...root.querySelectorAll("[data-day]")].filter((c) => c.checked).map((c) => Number(c.dataset.day));
  body.availability = days.length
    ? [{ days, start: root.querySelector("[data-from]").value, end: root.querySelector("[data-to]").value }]
    : [];
  return body;
}

export function peripheralFields(prefix, key) {
  return h("div", { class: "grid" },
    field("Device", select(`${prefix}dty`, DEVICE_TYPES, { id: `${key}-dty` })),
    field("Device id (did)", input(`${prefix}did`, { id: `${key}-did`, maxlength: 64, required: true })),
    field("Where", input(`${prefix}location_text`, { id: `${key}-loc`, maxlength: 200, placeholder: "e.g. worn on wrist, hall ceiling" })),
  );
}
