// The authenticated JSON API, from the browser: session cookie + CSRF token on every change.

const CSRF_KEY = "lifeline.csrf";

// What each error code means to a person, for answers whose detail is not a sentence (or none came).
// The codes are the server's one enumeration (ErrorCode in arc/kit/errors.py, in /openapi.json);
// tests/arc/test_contract.py checks every code here is one of them.
const MESSAGES = {
  invalid: "Some of what was entered is not valid",
  not_found: "That record no longer exists",
  conflict: "Someone changed this at the same time; reload and try again",
  duplicate: "That is already in use",
  forbidden: "Your role may not do this",
  unauthorized: "Please sign in again",
  password_change_required: "Your password was reset; choose a new one first",
  csrf: "Your session is out of date; reload the page",
  rate_limited: "Too many attempts; wait a few minutes",
  too_large: "That is too large to send",
  unavailable: "The service cannot reach its database; try again shortly",
  internal: "Something went wrong on the server; it has been logged",
  taken: "Another operator has this alarm",
  closed: "This alarm is already closed",
  not_accepted: "Accept the alarm first",
  erased: "This person's details were erased",
  withdrawn: "This connection is withdrawn",
  broker_unavailable: "The MQTT broker could not be changed; nothing was changed, try again",
  broker_logins_unmanaged: "This service is not set up to change the broker's logins",
  network: "The service cannot be reached; check the connection",
  timeout: "The service did not answer in time",
};

// "field: problem; field: problem" from a validation answer's detail list
function problems(detail) {
  return detail
    .map((p) => (p && p.field ? `${p.field}: ${p.message}` : p && p.message))
    .filter(Boolean)
    .join("; ");
}

export function messageFor(code, detail) {
  if (typeof detail === "string" && detail) return detail;
  if (Array.isArray(detail) && detail.length) return problems(detail);
  return MESSAGES[code] || code || "";
}

export class ApiError extends Error {
  constructor(status, body) {
    const code = body && body.error;
    super(messageFor(code, body && body.detail) || `HTTP ${status}`);
    this.status = status;
    this.code = code;
    this.hint = MESSAGES[code] || null; // the code's general meaning, beside the specific message
    this.body = body;
  }
}

export function setCsrf(token) {
  try {
    if (token) sessionStorage.setItem(CSRF_KEY, token);
    else sessionStorage.removeItem(CSRF_KEY);
  } catch { /* storage disabled: /auth/me gives it back on every page load */ }
  csrfToken = token || null;
}

let csrfToken = null;
try { csrfToken = sessionStorage.getItem(CSRF_KEY); } catch { /* ignore */ }

export function goToLogin() {
  const next = encodeURIComponent(location.pathname);
  location.assign(`/login?next=${next}`);
}

// timeoutMs: give up on a server that does not answer (a hung database holds a request open)
export async function api(path, { method = "GET", body, redirectOn401 = true, timeoutMs } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && method !== "HEAD" && csrfToken) headers["X-CSRF-Token"] = csrfToken;
  const abort = timeoutMs ? new AbortController() : null;
  const timer = abort ? setTimeout(() => abort.abort(), timeoutMs) : null;
  let response;
  try {
    response = await fetch(path, {
      method, headers, credentials: "same-origin", cache: "no-store", signal: abort?.signal,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    if (abort?.signal.aborted) {
      throw new ApiError(0, { error: "timeout" });
    }
    throw new ApiError(0, { error: "network" });
  } finally {
    clearTimeout(timer);
  }
  let data = null;
  if (response.status !== 204) data = await response.json().catch(() => null);
  // 401: signed out; password_change_required: an admin reset it, the log-in page asks for a new one
  if (redirectOn401 && (response.status === 401 || (data && data.error === "password_change_required"))) {
    goToLogin();
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

export const post = (path, body = {}) => api(path, { method: "POST", body });

// A file to a multipart route (the import page); the same CSRF token and error shape as api().
export async function upload(path, formData) {
  const headers = { Accept: "application/json" };
  if (csrfToken) headers["X-CSRF-Token"] = csrfToken;
  let response;
  try {
    response = await fetch(path, { method: "POST", headers, body: formData, credentials: "same-origin", cache: "no-store" });
  } catch (err) {
    throw new ApiError(0, { error: "network", detail: "the service cannot be reached; check the connection" });
  }
  const data = await response.json().catch(() => null);
  if (response.status === 401) goToLogin();
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

// Who is signed in (and this session's CSRF token); null when nobody is.
export async function whoAmI() {
  try {
    const me = await api("/auth/me", { redirectOn401: false });
    setCsrf(me.csrf_token);
    return me.user;
  } catch (err) {
    if (err.status === 401) return null;
    throw err;
  }
}

export async function logOut() {
  try { await post("/auth/logout"); } catch { /* already gone */ }
  setCsrf(null);
  location.assign("/login");
}

export function describe(err) {
  if (!(err instanceof ApiError)) return String(err && err.message ? err.message : err);
  return err.message; // messageFor: the server's sentence, the fields named, or the code's meaning
}
