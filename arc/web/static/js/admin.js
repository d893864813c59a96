// The admin's page: users (add, role, deactivate, reset password), clinical grants to check,
// the audit search, the job queue's dead letters, units' logins and where data-key rotation stands.

import { loadUnitLogins, unitsPanel } from "./admin_units.js";
import { api, describe, post } from "./api.js";
import { $, h, replace, say } from "./dom.js";
import { startPage, table } from "./nav.js";
import { dateTime } from "./time.js";

const ROLES = ["operator", "supervisor", "ers", "tec", "finance", "admin"];
let me = null;

function field(id, label, control) {
  control.id = id;
  return h("div", { class: "field" }, h("label", { for: id }, label), control);
}

function showPassword(out, what) {
  if (!out.temporary_password) return;
  replace($("#secret"), h("p", { class: "warning", role: "alert" },
    `${what} ${out.user.username}: temporary password `, h("code", { "data-testid": "temporary-password" }, out.temporary_password),
    " — shown only now; give it to them in person."));
}

async function change(user, body, done) {
  try {
    await api(`/api/admin/users/${user.id}`, { method: "PATCH", body });
    say(done, "ok");
    await loadUsers();
  } catch (err) {
    say(describe(err), "error");
  }
}

function userRow(u) {
  const role = h("select", { "aria-label": `Role of ${u.username}` },
    ROLES.map((r) => h("option", { value: r, selected: r === u.role }, r)));
  const self = me && u.id === me.id;
  return h("tr", { dataset: { username: u.username } },
    h("td", {}, u.username), h("td", {}, u.full_name),
    h("td", {}, self ? u.role : [role, " ", h("button", { type: "button", class: "small", onclick: () => change(u, { role: role.value }, `${u.username} is now ${role.value}`) }, "Set role")]),
    h("td", {}, u.is_active ? (u.locked ? "locked" : "active") : "deactivated"),
    h("td", {},
      self ? h("span", { class: "muted" }, "you") : [
        h("button", { type: "button", class: "small", onclick: () => change(u, { is_active: !u.is_active }, u.is_active ? `${u.username} deactivated` : `${u.username} active again`) },
          u.is_active ? "Deactivate" : "Reactivate"), " ",
        h("button", {
          type: "button", class: "small",
          onclick: async () => {
            try {
              showPassword(await post(`/api/admin/users/${u.id}/reset-password`), "Password reset for");
              say(`Password of ${u.username} reset`, "ok");
            } catch (err) { say(describe(err), "error"); }
          },
        }, "Reset password")]));
}

async function loadUsers() {
  const users = await api("/api/admin/users");
  replace($("#users-table"), table(["Username", "Name", "Role", "State", ""], users.map(userRow), { id: "users" }));
}

function usersPanel() {
  const username = h("input", { required: true, maxlength: 64, autocomplete: "off" });
  const fullName = h("input", { required: true, maxlength: 200, autocomplete: "off" });
  const role = h("select", {}, ROLES.map((r) => h("option", { value: r }, r)));
  return h("section", { class: "panel", "aria-labelledby": "h-users" },
    h("h2", { id: "h-users" }, "Users"),
    h("div", { id: "secret" }),
    h("form", {
      class: "inline-form", "aria-label": "Add a user",
      onsubmit: async (e) => {
        e.preventDefault();
        try {
          const out = await post("/api/admin/users", { username: username.value.trim(), full_name: fullName.value.trim(), role: role.value });
          showPassword(out, "New user");
          say(`${out.user.username} added`, "ok");
          username.value = ""; fullName.value = "";
          await loadUsers();
        } catch (err) { say(describe(err), "error"); }
      },
    }, field("new-username", "Username", username), field("new-name", "Full name", fullName), field("new-role", "Role", role),
    h("button", { type: "submit", class: "primary" }, "Add user")),
    h("div", { id: "users-table" }));
}

async function loadGrants() {
  const grants = await api("/api/admin/grants");
  replace($("#grants"), grants.length
    ? h("ul", { class: "plain" }, grants.map((g) => h("li", {},
      `${dateTime(g.at)} — ${g.granted_by} gave user ${g.user_id} ${g.granted.join(", ")}${g.holds_admin ? " (an admin)" : ""} `,
      h("button", { type: "button", class: "small", onclick: async () => { await post(`/api/admin/grants/${g.id}/acknowledge`); await loadGrants(); } }, "I have checked this"))))
    : h("p", { class: "muted" }, "Nothing to check."));
}

async function searchAudit(form) {
  const params = new URLSearchParams();
  for (const [k, v] of new FormData(form)) if (String(v).trim()) params.set(k, String(v).trim());
  params.set("limit", "100");
  try {
    const page = await api(`/api/audit?${params}`);
    replace($("#audit-results"), h("p", { class: "muted" }, `${page.total} rows (newest first, 100 shown)`),
      table(["When", "Who", "Did", "What", "Customer", "Detail"], page.items.map((r) => h("tr", {},
        h("td", {}, dateTime(r.at)), h("td", {}, `${r.actor}${r.actor_role ? ` (${r.actor_role})` : ""}`), h("td", {}, r.action),
        h("td", {}, `${r.object_type} ${r.object_id ?? ""}`), h("td", {}, r.customer_id ?? ""),
        h("td", {}, h("code", {}, JSON.stringify(r.detail))))), { id: "audit" }));
  } catch (err) { say(describe(err), "error"); }
}

function auditPanel() {
  const input = (name, label, attrs = {}) => field(`a-${name}`, label, h("input", { name, ...attrs }));
  return h("section", { class: "panel", "aria-labelledby": "h-audit" },
    h("h2", { id: "h-audit" }, "Audit search"),
    h("form", { class: "inline-form", "aria-label": "Search the audit log", onsubmit: (e) => { e.preventDefault(); searchAudit(e.currentTarget); } },
      input("actor", "Who (username)"), input("customer_id", "Customer id", { inputmode: "numeric" }),
      input("action", "Action (view, update…)"), input("object_type", "Object (customer, key_safe…)"),
      input("since", "From (YYYY-MM-DD)", { type: "date" }),
      h("button", { type: "submit" }, "Search")),
    h("div", { id: "audit-results" }));
}

async function loadDead() {
  const dead = await api("/api/admin/jobs/dead");
  replace($("#dead"), dead.items.length
    ? table(["Job", "Task", "Attempts", "Failed", ""], dead.items.map((j) => h("tr", {},
      h("td", {}, String(j.id)), h("td", {}, j.task_name), h("td", {}, String(j.attempts)), h("td", {}, dateTime(j.failed_at)),
      h("td", {}, h("button", { type: "button", class: "small", onclick: async () => { await post(`/api/admin/jobs/${j.id}/retry`); say("Retried", "ok"); await loadDead(); } }, "Retry")))))
    : h("p", { class: "muted" }, "No failed jobs: every notification went out."));
}

// where key rotation stands: counts only (GET /api/admin/keys), never a value
async function loadKeys() {
  const k = await api("/api/admin/keys");
  const lines = [
    `${k.total} customers have a key-safe value; ${k.under_current_key} under the current key (${k.current_key}).`,
    k.to_rotate ? `${k.to_rotate} still under a retired key: run lifeline keys rotate on the service's host.` : "None is waiting to be rotated.",
  ];
  replace($("#keys"),
    h("p", {}, lines.join(" ")),
    k.unreadable ? h("p", { class: "warning", role: "alert" }, `${k.unreadable} cannot be decrypted by any configured key: those key-safe codes must be re-entered.`) : null,
    k.keys.length ? table(["Key id", "Values", "State"], k.keys.map((row) => h("tr", {},
      h("td", {}, h("code", {}, row.key_id)), h("td", {}, String(row.values)),
      h("td", {}, row.current ? "current" : row.configured ? "retired (still readable)" : "not configured (unreadable)"))), { id: "keys-table" }) : null);
}

startPage(["admin"], async (user) => {
  me = user;
  replace($("#main"),
    usersPanel(),
    h("section", { class: "panel", "aria-labelledby": "h-grants" }, h("h2", { id: "h-grants" }, "Clinical grants to check"), h("div", { id: "grants" })),
    auditPanel(),
    h("section", { class: "panel", "aria-labelledby": "h-dead" }, h("h2", { id: "h-dead" }, "Failed jobs (dead letters)"), h("div", { id: "dead" })),
    unitsPanel(),
    h("section", { class: "panel", "aria-labelledby": "h-keys" }, h("h2", { id: "h-keys" }, "Data keys (key-safe codes)"), h("div", { id: "keys" })),
  );
  await Promise.all([loadUsers(), loadKeys().catch((e) => say(describe(e), "error")), loadGrants().catch((e) => say(describe(e), "error")), loadDead().catch((e) => say(describe(e), "error")), loadUnitLogins().catch((e) => say(describe(e), "error"))]);
});
