// The service overview pictures and the reports (monthly, people supported).

import { api, describe } from "./api.js";
import { $, facts, h, replace, say } from "./dom.js";
import { londonToday } from "./time.js";
import { query, seconds, signedInTec } from "./history_common.js";

function showOverview() {
  const q = query({ from: $("#o-from").value, to: $("#o-to").value });
  $("#overview").src = `/api/history/overview.svg${q}${q ? "&" : "?"}t=${Date.now()}`;
}

function table(title, counts) {
  return h("table", { class: "tec-table small-table" },
    h("thead", {}, h("tr", {}, h("th", {}, title), h("th", {}, "calls"))),
    h("tbody", {}, Object.entries(counts).map(([k, v]) => h("tr", {}, h("td", {}, k), h("td", {}, v)))));
}

async function showMonthly() {
  const month = $("#r-month").value;
  $("#monthly-pdf").href = `/api/history/reports/monthly.pdf?month=${month}`;
  const r = await api(`/api/history/reports/monthly?month=${month}`);
  const k = r.answer_kpis;
  replace($("#monthly-out"),
    facts([
      ["Calls", r.calls],
      ["Answered within 60 s", k.answered_60s_pct === null ? "—" : `${k.answered_60s_pct} % (target ${r.targets["60s"]} %)`],
      ["Answered within 180 s", k.answered_180s_pct === null ? "—" : `${k.answered_180s_pct} % (target ${r.targets["180s"]} %)`],
      ["Median time to answer", seconds(k.median_answer_s) || "—"],
      ["ERS attendances", r.ers_attendances],
      ["999 calls made", r.calls_999],
      ["999 calls avoided", r.calls_999_avoided],
    ]),
    h("div", { class: "report-tables" }, table("device type", r.by_device_type), table("outcome", r.by_outcome)));
}

async function showPeople() {
  const year = $("#p-year").value;
  $("#people-csv").href = `/api/history/reports/people-supported.csv?year=${year}`;
  const r = await api(`/api/history/reports/people-supported?year=${year}`);
  replace($("#people-out"), h("table", { class: "tec-table small-table" },
    h("thead", {}, h("tr", {}, ["age band", "supported", "new", "ended"].map((t) => h("th", {}, t)))),
    h("tbody", {}, Object.entries(r.age_bands).map(([band, row]) =>
      h("tr", {}, h("td", {}, band), h("td", {}, row.supported), h("td", {}, row.new), h("td", {}, row.ended))))));
}

function guarded(fn) {
  return (event) => { if (event) event.preventDefault(); fn().catch((err) => say(describe(err), "error")); };
}

async function main() {
  if (!(await signedInTec())) return;
  const today = londonToday();
  const [y, m] = today.split("-").map(Number);
  const last = m === 1 ? `${y - 1}-12` : `${y}-${String(m - 1).padStart(2, "0")}`;
  $("#r-month").value = last; // the last whole month, the one reported
  $("#p-year").value = m >= 4 ? y : y - 1;
  $("#period").addEventListener("submit", (e) => { e.preventDefault(); showOverview(); });
  $("#monthly").addEventListener("submit", guarded(showMonthly));
  $("#people").addEventListener("submit", guarded(showPeople));
  showOverview();
  guarded(showMonthly)();
  guarded(showPeople)();
}

main();
