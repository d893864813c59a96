// Finance: invoices and credit notes, a document's lines and letter, waivers (request -> approve
// by someone else), aged debt, runs, income and the ledger export. All data from /api/billing.

import { api, describe, logOut, post, whoAmI } from "./api.js";
import { $, facts, h, replace, say } from "./dom.js";

const API = "/api/billing";
const PAGE = 50;
const gbp = new Intl.NumberFormat("en-GB", { style: "currency", currency: "GBP" });
const money = (pence) => gbp.format(pence / 100);
const day = (iso) => (iso ? new Date(`${iso}T12:00:00Z`).toLocaleDateString("en-GB", { day: "numeric", month: "short", year: "numeric", timeZone: "Europe/London" }) : "");
const when = (iso) => (iso ? new Date(iso).toLocaleString("en-GB", { timeZone: "Europe/London", dateStyle: "medium", timeStyle: "short" }) : "");
const STATE = { unpaid: "unpaid", paid: "paid", failed: "payment failed", uncollectible: "uncollectible", refunded: "refunded", none: "—" };
const state = (s) => h("span", { class: `state state-${s}` }, STATE[s] || s);

let me = null;
let offset = 0;

// --- documents -------------------------------------------------------------------------------
function filters() {
  const params = new URLSearchParams();
  for (const el of $("#doc-filters").elements) {
    if (el.name && el.value.trim()) params.set(el.name, el.value.trim());
  }
  return params;
}

async function loadDocuments(more = false) {
  offset = more ? offset + PAGE : 0;
  const params = filters();
  params.set("limit", PAGE);
  params.set("offset", offset);
  let page;
  try {
    page = await api(`${API}/documents?${params}`);
  } catch (err) {
    say(describe(err), "error");
    return;
  }
  const body = $("#documents tbody");
  if (!more) body.replaceChildren();
  for (const d of page.items) {
    const row = h("tr", { class: "pick", tabindex: 0, dataset: { id: d.id } },
      h("td", {}, d.number, d.original_number ? h("div", { class: "muted" }, `for ${d.original_number}`) : null),
      h("td", {}, d.customer_name, h("div", { class: "muted" }, d.case_reference || d.account_number)),
      h("td", {}, d.payer_name),
      h("td", {}, `${day(d.period_start)} – ${day(d.period_end)}`, h("div", { class: "muted" }, `${d.weeks} weeks`)),
      h("td", { class: "num" }, d.doc_type === "credit_note" ? `−${money(d.gross_pence)}` : money(d.gross_pence)),
      h("td", {}, state(d.payment_state)),
      h("td", {}, day(d.issue_date)));
    const open = () => showDocument(d.id, row);
    row.addEventListener("click", open);
    row.addEventListener("keydown", (e) => { if (e.key === "Enter") open(); });
    body.append(row);
  }
  const shown = body.children.length;
  $("#doc-count").textContent = page.total ? `${shown} of ${page.total} documents` : "No documents match.";
  $("#doc-more").hidden = shown >= page.total;
}

async function showDocument(id, row) {
  for (const r of document.querySelectorAll("#documents tr[aria-selected]")) r.removeAttribute("aria-selected");
  if (row) row.setAttribute("aria-selected", "true");
  const panel = $("#document");
  let d;
  try {
    d = await api(`${API}/documents/${id}`);
  } catch (err) {
    say(describe(err), "error");
    return;
  }
  const credit = d.doc_type === "credit_note";
  const lines = h("table", { class: "ledger" },
    h("thead", {}, h("tr", {}, h("th", {}, "Line"), h("th", { class: "num" }, "Amount"))),
    h("tbody", {}, d.lines.map((l) => h("tr", {}, h("td", {}, l.description), h("td", { class: "num" }, money(l.net_pence)))),
      h("tr", {}, h("th", {}, "Net"), h("td", { class: "num" }, money(d.net_pence))),
      h("tr", {}, h("th", {}, "VAT"), h("td", { class: "num" }, money(d.vat_pence))),
      h("tr", {}, h("th", {}, "Total"), h("td", { class: "num" }, money(d.gross_pence)))));
  replace(panel,
    h("h3", {}, `${credit ? "Credit note" : "Invoice"} ${d.number}`),
    h("p", { class: "amount" }, money(d.gross_pence), " ", state(d.payment_state)),
    facts([
      ["Customer", `${d.customer_name} (${d.case_reference || "no case ref"})`],
      ["Account", d.account_number],
      ["Payer", `${d.payer_name}, ${d.payer_address.replaceAll("\n", ", ")}`],
      ["Pays by", d.payment_method.replace("_", " ")],
      ["Period", `${day(d.period_start)} – ${day(d.period_end)} (${d.weeks} weeks)`],
      ["Issued", day(d.issue_date)],
      [credit ? "Credits" : "Due", credit ? d.original_number : day(d.due_date)],
      ["Still owed", credit ? "" : money(d.owed_pence)],
      ["Credit notes", d.credit_notes.join(", ")],
      ["VAT", d.vat_statement],
      ["Letter", d.letter_state], ["Stripe", d.stripe_state === "off" ? "" : d.stripe_state],
    ]),
    lines,
    h("p", {},
      h("a", { href: `${API}/documents/${d.id}/pdf`, target: "_blank", rel: "noopener" }, "Open the letter (PDF)"), " · ",
      h("a", { href: `${API}/documents/${d.id}/pdf?large_print=true`, target: "_blank", rel: "noopener" }, "large print")),
    credit ? null : h("p", {}, h("button", { type: "button", onclick: () => startWaiver(d) }, "Request a waiver for this connection")),
    h("details", { class: "account" }, h("summary", {}, "Payer and VAT for this customer"), accountForm(d.customer_id)));
  panel.hidden = false;
}

const ACCOUNT_FIELDS = [
  ["payer_name", "Payer (leave empty when the customer pays)"], ["payer_relationship", "Relationship (daughter, attorney, deputy)"],
  ["payer_address", "Payer's address"], ["payer_postcode", "Payer's postcode"], ["payer_email", "Payer's email"],
  ["mandate_reference", "Direct Debit mandate reference"], ["vat_declaration_on", "Zero-rating declaration received on"],
];
const CHOICES = {
  payment_method: [["invoice", "invoice"], ["direct_debit", "Direct Debit"], ["card", "card"]],
  vat_treatment: [["", "as the tariff"], ["outside_scope", "outside the scope"], ["exempt", "exempt"], ["zero_rated", "zero-rated"], ["standard", "standard rated"]],
};

function accountForm(customerId) {
  const form = h("form", { class: "account-form" });
  const field = (name, label, input) => h("div", { class: "field" }, h("label", { for: `a-${name}` }, label), input);
  const inputs = {};
  for (const [name, label] of ACCOUNT_FIELDS) {
    inputs[name] = h(name === "payer_address" ? "textarea" : "input", { id: `a-${name}`, type: name === "vat_declaration_on" ? "date" : "text", rows: 3 });
    form.append(field(name, label, inputs[name]));
  }
  for (const [name, options] of Object.entries(CHOICES)) {
    inputs[name] = h("select", { id: `a-${name}` }, options.map(([value, text]) => h("option", { value }, text)));
    form.append(field(name, name === "payment_method" ? "Pays by" : "VAT treatment", inputs[name]));
  }
  inputs.large_print = h("input", { id: "a-large_print", type: "checkbox" });
  form.append(h("div", { class: "field" }, h("label", { for: "a-large_print" }, inputs.large_print, " Large-print letters")),
    h("button", { type: "submit", class: "primary" }, "Save payer and VAT"));
  api(`${API}/accounts/${customerId}`).then((a) => {
    for (const [name, el] of Object.entries(inputs)) {
      if (el.type === "checkbox") el.checked = Boolean(a[name]);
      else el.value = a[name] ?? "";
    }
  }).catch((err) => say(describe(err), "error"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = {};
    for (const [name, el] of Object.entries(inputs)) {
      body[name] = el.type === "checkbox" ? el.checked : (el.value.trim() || null);
    }
    body.payment_method = body.payment_method || "invoice";
    try {
      await api(`${API}/accounts/${customerId}`, { method: "PUT", body });
      say("Payer and VAT saved; the next documents use them.", "ok");
    } catch (err) {
      say(describe(err), "error");
    }
  });
  return form;
}

function startWaiver(d) {
  $("#w-connection").value = d.connection_id;
  $("#w-start").value = d.period_start;
  $("#w-end").value = d.period_end;
  location.hash = "#waivers";
  $("#w-reason").focus();
}

// --- waivers ---------------------------------------------------------------------------------
async function loadWaivers() {
  const list = await api(`${API}/waivers`).catch((err) => { say(describe(err), "error"); return []; });
  replace($("#waivers tbody"), list.length ? list.map((w) => {
    const mine = w.requested_by_id === me.id;
    const decide = (approve) => async (event) => {
      event.target.disabled = true;
      try {
        const out = await post(`${API}/waivers/${w.id}/decision`, { approve });
        say(`Waiver ${w.id} ${out.status}${out.credit_notes.length ? `: ${out.credit_notes.join(", ")} raised` : ""}`, "ok");
      } catch (err) {
        say(describe(err), "error");
      }
      await loadWaivers();
    };
    const actions = w.status !== "requested" ? null : mine ? h("span", { class: "muted" }, "another person must decide")
      : [h("button", { type: "button", class: "primary small", onclick: decide(true) }, "Approve"), " ",
         h("button", { type: "button", class: "small", onclick: decide(false) }, "Reject")];
    return h("tr", { dataset: { id: w.id } },
      h("td", {}, w.id), h("td", {}, w.customer_name), h("td", {}, w.connection_id),
      h("td", {}, day(w.start_date)), h("td", {}, day(w.end_date)), h("td", {}, w.reason),
      h("td", {}, w.status, w.decided_at ? h("div", { class: "muted" }, when(w.decided_at)) : null), h("td", {}, actions));
  }) : h("tr", {}, h("td", { colspan: 8, class: "muted" }, "No waivers yet.")));
}

async function requestWaiver(event) {
  event.preventDefault();
  const body = {
    connection_id: Number($("#w-connection").value),
    start_date: $("#w-start").value,
    end_date: $("#w-end").value,
    reason: $("#w-reason").value.trim(),
  };
  try {
    const w = await post(`${API}/waivers`, body);
    say(`Waiver ${w.id} requested; another person must approve it.`, "ok");
    event.target.reset();
  } catch (err) {
    say(describe(err), "error");
  }
  await loadWaivers();
}

// --- aged debt, runs, income, export -----------------------------------------------------------
async function loadDebt() {
  const debt = await api(`${API}/aged-debt`).catch((err) => { say(describe(err), "error"); return null; });
  if (!debt) return;
  $("#debt-asof").textContent = `Unpaid invoices by days since issue, as of ${day(debt.as_of)}: ${debt.count} owing ${money(debt.owed_pence)}.`;
  replace($("#debt"), Object.entries(debt.buckets).map(([name, b]) =>
    h("div", { class: "bucket", dataset: { bucket: name } }, h("div", {}, `${name} days`), h("div", { class: "value" }, money(b.owed_pence)),
      h("div", { class: "muted" }, `${b.count} invoice${b.count === 1 ? "" : "s"}`))));
}

async function loadRuns() {
  const runs = await api(`${API}/runs`).catch((err) => { say(describe(err), "error"); return []; });
  replace($("#runs tbody"), runs.length ? runs.map((r) => h("tr", {},
    h("td", {}, r.quarter), h("td", {}, r.kind), h("td", {}, r.status, r.resumed ? ` (resumed ${r.resumed}×)` : ""),
    h("td", {}, when(r.started_at)), h("td", { class: "num" }, r.connections_seen), h("td", { class: "num" }, r.invoices),
    h("td", { class: "num" }, money(r.invoiced_pence)), h("td", { class: "num" }, r.credit_notes),
    h("td", { class: "num" }, money(r.credited_pence)), h("td", { class: "num" }, money(r.waived_pence))))
    : h("tr", {}, h("td", { colspan: 10, class: "muted" }, "No runs yet.")));
}

async function loadIncome(event) {
  if (event) event.preventDefault();
  const fy = $("#i-fy").value;
  try {
    const r = await api(`${API}/income?fy=${encodeURIComponent(fy)}`);
    const row = (q, cls) => h("tr", { class: cls }, h("td", {}, q.label), ...["invoiced", "credited", "waived", "net"].map((k) => h("td", { class: "num" }, money(q[k]))));
    replace($("#income tbody"), r.quarters.map((q) => row(q)), row(r.total, "total"));
    $("#income-notes").textContent = `Invoiced before 1 April for this year's service: ${money(r.brought_in)}. ` +
      `Invoiced this year for service after 31 March (deferred income): ${money(r.deferred_out)}.`;
  } catch (err) {
    say(describe(err), "error");
  }
}

function exportLedger(event) {
  event.preventDefault();
  const from = $("#e-from").value;
  const to = $("#e-to").value;
  $("#export-error").textContent = "";
  if (to < from) {
    $("#export-error").textContent = "The range is the wrong way round: 'to' is before 'from'.";
    return;
  }
  const params = new URLSearchParams({ from, to, format: $("#e-format").value });
  location.assign(`${API}/export?${params}`);
}

// --- tabs and start-up -------------------------------------------------------------------------
const LOADERS = { documents: () => loadDocuments(), waivers: loadWaivers, debt: loadDebt, runs: loadRuns, reports: () => null };

function showTab() {
  const name = (location.hash || "#documents").slice(1);
  const tab = LOADERS[name] ? name : "documents";
  for (const section of document.querySelectorAll(".tab")) section.hidden = section.id !== `tab-${tab}`;
  for (const link of document.querySelectorAll(".tabs a")) {
    if (link.dataset.tab === tab) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  LOADERS[tab]();
}

async function main() {
  me = await whoAmI();
  if (!me) {
    location.assign("/login?next=/finance");
    return;
  }
  if (me.role !== "finance" && !(me.extra_roles || []).includes("finance")) {
    location.assign("/login");
    return;
  }
  $("#me").textContent = me.full_name;
  $("#logout").addEventListener("click", logOut);
  $("#doc-filters").addEventListener("submit", (e) => { e.preventDefault(); loadDocuments(); });
  $("#doc-more").addEventListener("click", () => loadDocuments(true));
  $("#waiver-form").addEventListener("submit", requestWaiver);
  $("#income-form").addEventListener("submit", loadIncome);
  $("#export-form").addEventListener("submit", exportLedger);
  const now = new Date();
  $("#i-fy").value = now.getMonth() >= 3 ? now.getFullYear() : now.getFullYear() - 1;
  window.addEventListener("hashchange", showTab);
  showTab();
}

main();
