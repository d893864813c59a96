// The TEC review list: flagged customers, most severe first.

import { api, describe } from "./api.js";
import { $, h, replace, say } from "./dom.js";
import { dateTime } from "./time.js";
import { severityBadge, signedInTec } from "./history_common.js";

let status = "open";

async function load() {
  try {
    const data = await api(`/api/history/flags?status=${status}`);
    const rows = data.customers.map((c) => h("tr", { class: `sev-${c.severity}` },
      h("td", {}, h("a", { href: `/history?id=${c.customer_id}` }, c.name || `customer ${c.customer_id}`),
        c.case_ref ? h("span", { class: "muted" }, ` ${c.case_ref}`) : null),
      h("td", {}, severityBadge(c.severity)),
      h("td", {}, h("ul", { class: "plain" }, c.flags.map((f) => h("li", {},
        h("strong", {}, f.label), " — ", f.reason)))),
      h("td", {}, dateTime(c.flags[0].raised_at)),
      h("td", {}, c.flags.map((f) => f.last_reviewed_at).filter(Boolean).map(dateTime)[0] || "not yet"),
    ));
    replace($("#flag-list tbody"), rows);
    $("#list-empty").hidden = rows.length > 0;
  } catch (err) {
    say(describe(err), "error");
  }
}

async function main() {
  if (!(await signedInTec())) return;
  for (const button of document.querySelectorAll(".tec-tabs button")) {
    button.addEventListener("click", () => {
      status = button.dataset.status;
      for (const b of document.querySelectorAll(".tec-tabs button")) b.classList.toggle("primary", b === button);
      load();
    });
  }
  await load();
}

main();
