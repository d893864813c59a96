// The admin page's units: which have a broker + SIP login and since when; provision one (its one
// secret shown once, with a copy button) or revoke it (asked twice). The secret is never kept here.

import { api, describe, post } from "./api.js";
import { $, h, replace, say } from "./dom.js";
import { table } from "./nav.js";
import { dateTime } from "./time.js";

const STATE = { active: "Can log in", revoked: "Revoked", none: "Never given" };
const WHERE = {
  dynsec: "Logins are given and taken on the MQTT broker at once (Mosquitto's dynamic security plugin).",
  file: "Logins are written to the broker's password file: reload the broker (kill -HUP) after each change for it to apply.",
};

function copyButton(text) {
  return h("button", {
    type: "button", class: "small",
    onclick: async (e) => {
      try {
        await navigator.clipboard.writeText(text);
        say("Secret copied", "ok");
      } catch {
        const range = document.createRange(); // no clipboard (plain http): select it for Ctrl+C
        range.selectNodeContents(e.currentTarget.previousElementSibling);
        getSelection().removeAllRanges();
        getSelection().addRange(range);
        say("Select-and-copy: the secret is selected", "info");
      }
    },
  }, "Copy");
}

function showSecret(out) {
  replace($("#unit-secret"), h("div", { class: "warning", role: "alert" },
    h("p", {}, `Unit ${out.cid}: username `, h("code", {}, out.username), ", secret ",
      h("code", { "data-testid": "unit-secret" }, out.password), " ", copyButton(out.password)),
    h("p", {}, "Shown only now: put it in the unit (the same secret for MQTT and SIP). ",
      out.reload_needed ? "Reload the broker (kill -HUP) so it reads the new login." : "The broker already accepts it; any earlier secret no longer works.")));
}

// Asked twice: a second button appears beside the first, with what will happen in words.
function confirming(cell, question, yes, action) {
  replace(cell, h("span", { role: "group", "aria-label": question }, `${question} `,
    h("button", { type: "button", class: "small danger", onclick: action }, yes), " ",
    h("button", { type: "button", class: "small", onclick: () => loadUnitLogins() }, "Keep it")));
}

async function provision(row) {
  try {
    const out = await post(`/api/admin/units/${row.cid}/credentials`);
    showSecret(out);
    say(`Unit ${row.cid} has a new secret`, "ok");
  } catch (err) { say(describe(err), "error"); }
  await loadUnitLogins();
}

async function revoke(row) {
  try {
    const out = await api(`/api/admin/units/${row.cid}/credentials`, { method: "DELETE" });
    replace($("#unit-secret"));
    say(`Unit ${row.cid} can no longer log in${out.reload_needed ? " once the broker is reloaded (kill -HUP)" : ""}`, "ok");
  } catch (err) { say(describe(err), "error"); }
  await loadUnitLogins();
}

function actions(row, managed) {
  if (!managed) return h("td", {}, h("span", { class: "muted" }, "on the broker's host"));
  const cell = h("td", {});
  const active = row.state === "active";
  replace(cell,
    h("button", {
      type: "button", class: "small",
      onclick: () => (active
        ? confirming(cell, `Give ${row.cid} a new secret? Its current one stops working.`, "Yes, new secret", () => provision(row))
        : provision(row)),
    }, active ? "New secret" : "Provision"),
    active ? [" ", h("button", {
      type: "button", class: "small",
      onclick: () => confirming(cell, `Revoke ${row.cid}'s login? The unit is cut off until provisioned again.`, "Yes, revoke", () => revoke(row)),
    }, "Revoke")] : null);
  return cell;
}

export async function loadUnitLogins() {
  const form = $("#unit-logins-form");
  const params = new URLSearchParams({ limit: "50" });
  for (const [k, v] of new FormData(form)) if (String(v).trim()) params.set(k, String(v).trim());
  const page = await api(`/api/admin/units/credentials?${params}`);
  replace($("#unit-logins-where"), page.broker ? WHERE[page.broker]
    : ["This service is set up to change neither Mosquitto's dynamic security plugin nor its password file, so units' logins are given on the broker's host (the demo's embedded broker makes its own for each run). Set ",
      h("code", {}, "LIFELINE_BROKER_CREDENTIALS=dynsec"), ", or run ", h("code", {}, "lifeline units provision CID"),
      " / ", h("code", {}, "revoke CID"), " on the broker's host."]);
  replace($("#unit-logins"),
    h("p", { class: "muted" }, `${page.total} units${page.total > page.items.length ? ` (${page.items.length} shown, most recently changed first)` : ""}`),
    table(["Unit", "Model", "Login", "Issued", "Revoked", "SIP", ""], page.items.map((row) => h("tr", { dataset: { cid: row.cid } },
      h("td", {}, row.cid), h("td", {}, row.model || ""), h("td", { class: "login-state" }, STATE[row.state]),
      h("td", {}, row.issued_at ? dateTime(row.issued_at) : ""), h("td", {}, row.revoked_at ? dateTime(row.revoked_at) : ""),
      h("td", {}, row.sip ? "yes" : "no"), actions(row, Boolean(page.broker)))), { id: "unit-logins-table" }));
}

export function unitsPanel() {
  const field = (id, label, control) => h("div", { class: "field" }, h("label", { for: id }, label), Object.assign(control, { id }));
  return h("section", { class: "panel", "aria-labelledby": "h-units" }, h("h2", { id: "h-units" }, "Units and their logins"),
    h("p", {}, "Every unit's comms state is on the ", h("a", { href: "/fleet" }, "fleet page"), ". ",
      h("span", { id: "unit-logins-where" })),
    h("div", { id: "unit-secret" }),
    h("form", {
      id: "unit-logins-form", class: "inline-form", "aria-label": "Find units",
      onsubmit: (e) => { e.preventDefault(); loadUnitLogins().catch((err) => say(describe(err), "error")); },
    }, field("u-cid", "Unit cid starts with", h("input", { name: "cid", inputmode: "numeric", autocomplete: "off", pattern: "[0-9]*" })),
    field("u-state", "Login", h("select", { name: "state" }, h("option", { value: "" }, "any"),
      Object.entries(STATE).map(([v, l]) => h("option", { value: v }, l)))),
    h("button", { type: "submit" }, "Find units")),
    h("div", { id: "unit-logins" }));
}
