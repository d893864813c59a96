// Log in with a browser session (cookie + CSRF token), then go to the page for the role.

import { ApiError, api, describe, setCsrf } from "./api.js";
import { $ } from "./dom.js";

const HOME = { operator: "/dashboard", supervisor: "/dashboard", ers: "/ers", tec: "/customers", admin: "/admin", finance: "/finance" };

// other pages a role may be sent back to after logging in
const ALSO = { supervisor: ["/supervisor", "/wallboard", "/fleet"], admin: ["/fleet", "/supervisor", "/reviews"], tec: ["/fleet"] };

function destination(user) {
  const next = new URLSearchParams(location.search).get("next");
  // only our own pages: a path, never another site ("//evil" or "https://...")
  if (next && /^\/[a-z]/i.test(next) && !next.startsWith("//") && (HOME[user.role] === next || (ALSO[user.role] || []).includes(next))) return next;
  return HOME[user.role] || null;
}

function go(user) {
  const target = destination(user);
  if (target) {
    location.assign(target);
    return;
  }
  $("#login-error").textContent = `Signed in as ${user.full_name}; there is no page here for the ${user.role} role yet.`;
}

// An admin reset the password: the temporary one opens only this form (the API refuses all else).
let temporary = "";

function askForNewPassword(user) {
  $("#login-form").hidden = true;
  $("#change-form").hidden = false;
  $("#change-form").dataset.user = JSON.stringify(user);
  $("#given-field").hidden = Boolean(temporary); // known from this log-in; after a reload, asked for
  (temporary ? $("#new-password") : $("#given-password")).focus();
}

async function change(event) {
  event.preventDefault();
  const error = $("#change-error");
  const button = $("#change-submit");
  error.textContent = "";
  const fresh = $("#new-password").value;
  if (fresh !== $("#new-password-again").value) {
    error.textContent = "The two new passwords differ; type the same one twice.";
    return;
  }
  const given = temporary || $("#given-password").value;
  if (!given) {
    error.textContent = "Type the password the administrator gave you.";
    return;
  }
  button.disabled = true;
  try {
    await api("/auth/password", { method: "POST", body: { current_password: given, new_password: fresh } });
    temporary = "";
    go(JSON.parse($("#change-form").dataset.user));
  } catch (err) {
    error.textContent = describe(err);
  } finally {
    button.disabled = false;
  }
}

async function submit(event) {
  event.preventDefault();
  const error = $("#login-error");
  const button = $("#login-submit");
  error.textContent = "";
  button.disabled = true;
  try {
    const out = await api("/auth/login", {
      method: "POST",
      redirectOn401: false,
      body: { username: $("#username").value.trim(), password: $("#password").value, kind: "browser" },
    });
    setCsrf(out.csrf_token);
    if (out.must_change_password) {
      temporary = $("#password").value;
      askForNewPassword(out.user);
      return;
    }
    go(out.user);
  } catch (err) {
    error.textContent = err instanceof ApiError && err.status === 401 ? err.message : describe(err);
    $("#password").select();
  } finally {
    button.disabled = false;
  }
}

async function main() {
  $("#login-form").addEventListener("submit", submit);
  $("#change-form").addEventListener("submit", change);
  const me = await api("/auth/me", { redirectOn401: false }).catch(() => null);
  if (!me) return;
  setCsrf(me.csrf_token);
  if (me.must_change_password) askForNewPassword(me.user);
  else go(me.user);
}

main();
