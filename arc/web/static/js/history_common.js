// Shared by the call-history and flag pages: who may be here, small formatters.

import { h } from "./dom.js";
import { enter } from "./tec.js";

// The TEC team (and supervisors) read histories and flags; the sign-in guard is the TEC pages' one.
export const signedInTec = () => enter(location.pathname + location.search, ["tec", "supervisor"]);

export function severityBadge(severity) {
  return h("span", { class: `severity severity-${severity}` }, severity);
}

export function seconds(value) {
  if (value === null || value === undefined) return "";
  if (value < 120) return `${Math.round(value)} s`;
  return `${Math.round(value / 60)} min`;
}

export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== "" && v !== null && v !== undefined) q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : "";
}
