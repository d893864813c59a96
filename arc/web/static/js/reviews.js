// The 6-week review work-list: one form per connection, retained or not retained (with a reason).

import { api, describe, post } from "./api.js";
import { $, h, replace, say } from "./dom.js";
import { day, enter, onSubmit, canWorkConnections } from "./tec.js";

let me = null;

function dueText(item) {
  if (item.days_left < 0) return h("span", { class: "overdue" }, `${-item.days_left} days overdue`);
  if (item.days_left === 0) return h("span", { class: "overdue" }, "today");
  return item.days_left === 1 ? "tomorrow" : `in ${item.days_left} days`;
}

function reviewForm(item) {
  const id = item.connection_id;
  const form = h("form", { class: "inline-form review-form", "aria-label": `Review for ${item.name}` },
    h("div", { class: "field" }, h("label", { for: `outcome-${id}` }, "Outcome"),
      h("select", { id: `outcome-${id}`, name: "outcome", required: true },
        h("option", { value: "" }, "Choose…"),
        h("option", { value: "retained" }, "Retained"),
        h("option", { value: "not_retained" }, "Not retained"))),
    h("div", { class: "field" }, h("label", { for: `reason-${id}` }, "Reason (if not retained)"),
      h("input", { id: `reason-${id}`, name: "reason", maxlength: 200 })),
    h("div", { class: "field" }, h("label", { for: `reviewed-${id}` }, "Review date"),
      h("input", { id: `reviewed-${id}`, name: "reviewed_on", type: "date" })),
    h("button", { type: "submit", class: "primary" }, "Record"),
    h("div", { class: "form-problems", tabindex: -1 }),
  );
  onSubmit(form, async (body) => {
    const out = await post(`/api/connections/${id}/review`, body);
    say(out.status === "active"
      ? `${item.name}: retained — charging starts ${day(out.activated_on)}`
      : `${item.name}: not retained — withdrawn ${day(out.withdrawn_on)}`, "ok");
    await load();
  });
  return form;
}

async function load() {
  try {
    const items = await api("/api/reviews?within_days=14");
    const link = (item) => (me.role === "admin" ? item.name : h("a", { href: `/customer?id=${item.customer_id}` }, item.name));
    replace($("#reviews tbody"), items.map((item) => h("tr", { dataset: { connectionId: item.connection_id } },
      h("td", {}, link(item), h("div", { class: "muted" }, item.postcode)),
      h("td", {}, item.case_ref || ""),
      h("td", {}, day(item.install_date)),
      h("td", {}, day(item.review_due_on)),
      h("td", {}, dueText(item)),
      h("td", {}, canWorkConnections(me) ? reviewForm(item) : "—"),
    )));
    $("#reviews").hidden = items.length === 0;
    $("#reviews-empty").hidden = items.length > 0;
  } catch (err) {
    say(describe(err), "error");
  }
}

async function main() {
  me = await enter("/reviews");
  if (me) await load();
}

main().catch((err) => say(describe(err), "error"));
