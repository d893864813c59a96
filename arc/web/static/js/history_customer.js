// One customer's call history: flags with the review form, the weekly chart, the calls table.

import { api, describe, post } from "./api.js";
import { $, h, replace, say } from "./dom.js";
import { dateTime } from "./time.js";
import { query, seconds, severityBadge, signedInTec } from "./history_common.js";

const id = Number(new URLSearchParams(location.search).get("id"));
const ACTIONS = [
  ["falls_referral", "Falls referral"], ["reablement", "Reablement"], ["equipment_change", "Equipment change"],
  ["review_visit", "Review visit"], ["other", "Other"],
];
let page = 1;
const PAGE_SIZE = 25;

function reviewForm(flag) {
  const status = h("select", { "aria-label": "Review" },
    h("option", { value: "seen" }, "Seen"), h("option", { value: "action_taken" }, "Action taken"),
    h("option", { value: "no_action_needed" }, "No action needed"));
  const action = h("select", { "aria-label": "Action taken" }, h("option", { value: "" }, "—"),
    ACTIONS.map(([v, l]) => h("option", { value: v }, l)));
  const note = h("input", { "aria-label": "Review note", maxlength: 2000, placeholder: "note" });
  const form = h("form", { class: "inline-form review-form" }, status, action, note,
    h("button", { type: "submit", class: "primary" }, "Record review"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { status: status.value };
    if (action.value) body.action = action.value;
    if (note.value.trim()) body.note = note.value.trim();
    try {
      await post(`/api/history/flags/${flag.id}/reviews`, body);
      say("Review recorded", "ok");
      await loadFlags();
    } catch (err) {
      say(describe(err), "error");
    }
  });
  return form;
}

function reviews(flag) {
  if (!flag.reviews.length) return null;
  return h("ul", { class: "plain reviews" }, flag.reviews.map((r) => h("li", {},
    `${dateTime(r.at)} ${r.reviewer || ""}: ${r.status.replaceAll("_", " ")}`,
    r.action ? ` (${r.action.replaceAll("_", " ")})` : "", r.note ? ` — ${r.note}` : "")));
}

function flagItem(flag, open) {
  return h("li", { class: `flag sev-${flag.severity}` },
    h("p", {}, severityBadge(flag.severity), " ", h("strong", {}, flag.label), " — ", flag.reason),
    h("p", { class: "muted" }, `evidence ${dateTime(flag.window_start)} – ${dateTime(flag.window_end)}, `,
      `${flag.alarm_ids.length} alarms; raised ${dateTime(flag.raised_at)}; ${flag.status}`),
    reviews(flag), open ? reviewForm(flag) : null);
}

async function loadFlags() {
  const data = await api(`/api/history/customers/${id}/flags`);
  replace($("#open-flags"), data.open.length ? data.open.map((f) => flagItem(f, true)) : h("li", { class: "muted" }, "No open flags."));
  replace($("#past-flags"), data.past.map((f) => flagItem(f, false)));
}

function filters() {
  return {
    from: $("#f-from").value, to: $("#f-to").value, type: $("#f-type").value,
    device_type: $("#f-device").value, outcome: $("#f-outcome").value.trim(),
  };
}

async function loadCalls() {
  const f = filters();
  const data = await api(`/api/history/customers/${id}/calls${query({ ...f, page, page_size: PAGE_SIZE })}`);
  replace($("#calls tbody"), data.rows.map((r) => h("tr", { class: `type-${r.type}` },
    h("td", {}, dateTime(r.raised_at)), h("td", {}, r.type),
    h("td", {}, [r.device_type, r.location_text].filter(Boolean).join(", ")),
    h("td", {}, r.reported || ""), h("td", {}, r.outcome || r.status),
    h("td", {}, r.responders.map((x) => `${x.who} (${x.status})`).join("; ")),
    h("td", {}, seconds(r.answer_s)), h("td", {}, seconds(r.arrival_s)))));
  const pages = Math.max(1, Math.ceil(data.total / PAGE_SIZE));
  $("#page-info").textContent = `page ${page} of ${pages} (${data.total} alarms)`;
  $("#prev").disabled = page <= 1;
  $("#next").disabled = page >= pages;
  $("#export-csv").href = `/api/history/customers/${id}/calls/export${query({ ...f, format: "csv" })}`;
  $("#export-xlsx").href = `/api/history/customers/${id}/calls/export${query({ ...f, format: "xlsx" })}`;
}

function loadChart() {
  $("#chart").src = `/api/history/customers/${id}/chart.svg?weeks=${$("#weeks").value}&t=${Date.now()}`;
}

async function main() {
  if (!(await signedInTec())) return;
  try {
    const person = await api(`/api/customers/${id}`);
    const name = `${person.given_name} ${person.family_name}`;
    $("#person").textContent = `Call history — ${name}`;
    document.title = `Lifeline ARC — ${name}`;
    $("#person-facts").textContent = [person.case_ref, person.date_of_birth && `born ${person.date_of_birth}`,
      person.postcode].filter(Boolean).join(" · ");
    $("#weeks").addEventListener("change", loadChart);
    $("#filters").addEventListener("submit", (e) => { e.preventDefault(); page = 1; loadCalls().catch((err) => say(describe(err), "error")); });
    $("#prev").addEventListener("click", () => { page -= 1; loadCalls(); });
    $("#next").addEventListener("click", () => { page += 1; loadCalls(); });
    loadChart();
    await Promise.all([loadFlags(), loadCalls()]);
  } catch (err) {
    say(describe(err), "error");
  }
}

main();
