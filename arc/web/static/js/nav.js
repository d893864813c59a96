// The small shared navigation of the supervisor, admin and fleet pages, and their start-up.

import { describe, logOut, whoAmI } from "./api.js";
import { $, h, replace, say } from "./dom.js";

const LINKS = {
  supervisor: [["/dashboard", "Dashboard"], ["/supervisor", "Supervisor"], ["/wallboard", "Wallboard"], ["/fleet", "Fleet"]],
  admin: [["/admin", "Admin"], ["/fleet", "Fleet"], ["/supervisor", "Supervisor"], ["/wallboard", "Wallboard"]],
  tec: [["/customers", "Customers"], ["/fleet", "Fleet"]],
};

export function mountNav(me) {
  const nav = $("#nav");
  if (!nav) return;
  const links = LINKS[me.role] || [];
  replace(nav, links.map(([href, label]) => h("a", { href, "aria-current": location.pathname === href ? "page" : null }, label)));
}

// Sign-in check, role check, nav, log-out; then run the page. Returns the signed-in user or null.
export async function startPage(roles, run) {
  try {
    const me = await whoAmI();
    if (!me) {
      location.assign(`/login?next=${encodeURIComponent(location.pathname)}`);
      return null;
    }
    if (!roles.some((r) => me.role === r || (me.roles || []).includes(r))) {
      replace($("#main"), h("p", { class: "warning" }, `This page is for ${roles.join(" / ")}; you are signed in as ${me.role}.`));
      return null;
    }
    $("#me").textContent = `${me.full_name} (${me.role})`;
    $("#logout").addEventListener("click", logOut);
    mountNav(me);
    await run(me);
    return me;
  } catch (err) {
    say(describe(err), "error");
    return null;
  }
}

export function stamp(ok, text) {
  const el = $("#updated");
  if (!el) return;
  el.dataset.state = ok ? "ok" : "error";
  el.textContent = text;
}

export function table(headers, rows, attrs = {}) {
  return h("table", { class: "data-table", ...attrs },
    h("thead", {}, h("tr", {}, headers.map((x) => h("th", { scope: "col" }, x)))),
    h("tbody", {}, rows));
}
