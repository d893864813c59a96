// The authenticated JSON API, from the browser: session cookie + CSRF token on every change.

const CSRF_KEY = "lifeline.csrf";

export class ApiError extends Error {
  constructor(status, body) {
    const detail = body && body.detail;
    super(typeof detail === "string" ? detail : (body && body.error) || `HTTP ${status}`);
    this.status = status;
    this.code = body && body.error;
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
      throw new ApiError(0, { error: "timeout", detail: "the service did not answer in time" });
    }
    throw new ApiError(0, { error: "network", detail: "the service cannot be reached; check the connection" });
  } finally {
    clearTimeout(timer);
  }
  let data = null;
  if (response.status !== 204) data = await response.json().catch(() => null);
  if (response.status === 401 && redirectOn401) {
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
  if (Array.isArray(err.body && err.body.detail)) {
    return err.body.detail.map((p) => `${p.field}: ${p.message}`).join("; ");
  }
  return err.message;
}
