// Log in with a browser session (cookie + CSRF token), then go to the page for the role.

import { ApiError, api, describe, setCsrf, whoAmI } from "./api.js";
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
  const user = await whoAmI().catch(() => null);
  if (user) go(user);
}

main();
