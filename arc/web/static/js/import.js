// Import customers from another provider's file: check first (dry run), then import.

import { describe, upload } from "./api.js";
import { $, h, replace, say } from "./dom.js";
import { enter, showProblems, clearProblems } from "./tec.js";

let checked = null; // the File last checked without problems (or with, when valid rows are allowed)

function show(report) {
  $("#report").hidden = false;
  const n = (count, one, many) => `${count} ${count === 1 ? one : many}`;
  const parts = [n(report.rows, "row", "rows"), `${report.valid} valid`];
  if (report.already_imported) parts.push(`${report.already_imported} already imported (skipped)`);
  if (report.problems.length) parts.push(n(report.problems.length, "problem", "problems"));
  if (report.written) parts.push(`${n(report.created, "customer", "customers")} imported`);
  else if (!report.dry_run) parts.push("nothing imported");
  $("#summary").textContent = parts.join(" · ");
  replace($("#problems tbody"), report.problems.map((p) => h("tr", {},
    h("td", {}, String(p.row)), h("td", {}, p.column || "—"), h("td", {}, p.message))));
  $("#problems").hidden = report.problems.length === 0;
}

async function send(dryRun) {
  const form = $("#import-form");
  const file = $("#file").files[0];
  if (!file) return;
  clearProblems(form);
  const data = new FormData();
  data.append("file", file);
  const validOnly = $("#valid-only").checked;
  const report = await upload(`/api/registry/import?dry_run=${dryRun}&valid_only=${validOnly}`, data);
  show(report);
  const importable = report.valid - report.already_imported > 0 && (report.problems.length === 0 || validOnly);
  checked = dryRun && importable ? file : null;
  $("#do-import").disabled = !checked;
  if (!dryRun && report.written) say(`${report.created} customers imported`, "ok");
}

async function main() {
  if (!(await enter("/import", ["tec"]))) return;
  const form = $("#import-form");
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try { await send(true); } catch (err) { showProblems(form, err); }
  });
  $("#file").addEventListener("change", () => { checked = null; $("#do-import").disabled = true; });
  $("#valid-only").addEventListener("change", () => { checked = null; $("#do-import").disabled = true; });
  $("#do-import").addEventListener("click", async () => {
    $("#do-import").disabled = true;
    try { await send(false); } catch (err) { showProblems(form, err); }
  });
}

main().catch((err) => say(describe(err), "error"));
