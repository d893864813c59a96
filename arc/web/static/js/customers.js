// Find a customer: name (typos forgiven), postcode, phone, unit number, case reference.

import { api, describe } from "./api.js";
import { $, h, replace, say } from "./dom.js";
import { day, enter } from "./tec.js";

let latest = 0; // answers can arrive out of order: show only the newest query's

async function search(q) {
  const mine = ++latest;
  const status = $("#search-status");
  if (q.trim().length < 2) {
    $("#results").hidden = true;
    status.textContent = "Type at least two characters.";
    return;
  }
  try {
    const out = await api(`/api/search/customers?q=${encodeURIComponent(q.trim())}`);
    if (mine !== latest) return;
    replace($("#results tbody"), out.items.map((c) => h("tr", {},
      h("td", {}, h("a", { href: `/customer?id=${c.id}` }, c.name)),
      h("td", {}, day(c.date_of_birth)),
      h("td", {}, c.postcode),
      h("td", {}, c.case_ref || ""),
      h("td", {}, c.phone_primary || ""),
      h("td", {}, c.cid || ""),
      h("td", {}, c.status ? h("span", { class: `badge status-${c.status}` }, c.status) : "no service"),
    )));
    $("#results").hidden = out.items.length === 0;
    status.textContent = out.items.length ? `${out.items.length} found (${out.took_ms} ms)` : "Nobody found.";
  } catch (err) {
    if (mine === latest) say(describe(err), "error");
  }
}

async function main() {
  if (!(await enter("/customers", ["tec", "operator", "supervisor"]))) return;
  let timer = null;
  const box = $("#q");
  box.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => search(box.value), 150);
  });
  $("#search-form").addEventListener("submit", (e) => { e.preventDefault(); search(box.value); });
  const initial = new URLSearchParams(location.search).get("q");
  if (initial) box.value = initial;
  if (box.value) search(box.value); // typed (or given) before the script ran
}

main().catch((err) => say(describe(err), "error"));
