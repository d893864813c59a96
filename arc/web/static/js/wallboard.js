// The wallboard for a big screen: queue length, oldest waiting, answered within 60 s / 180 s today.

import { api, describe } from "./api.js";
import { $, h, replace } from "./dom.js";
import { startPage, stamp } from "./nav.js";
import { ageSeconds, clockTime, londonToday, startAgeTicker, syncServerClock } from "./time.js";

const QUEUE_MS = 5_000;
const KPI_MS = 30_000;
let kpi = null;

function tile(key, label, value, state = "") {
  return h("div", { class: `wall-tile ${state}`, dataset: { tile: key } },
    h("span", { class: "wall-value" }, value), h("span", { class: "wall-label" }, label));
}

function pct(v) {
  return v == null ? "—" : `${Number(v).toFixed(1)} %`;
}

function mmss(seconds) {
  const s = Math.floor(seconds);
  return s < 3600 ? `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s` : `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

async function draw() {
  try {
    const snapshot = await api("/api/alarms/queue");
    syncServerClock(snapshot.now);
    const queue = snapshot.items;
    const waiting = queue.filter((a) => a.status === "queued");
    const oldest = waiting.reduce((o, a) => (!o || Date.parse(a.raised_at) < Date.parse(o.raised_at) ? a : o), null);
    const oldestS = oldest ? ageSeconds(oldest.raised_at) : 0;
    const t = kpi?.totals || {};
    const targets = kpi?.targets || {};
    const meets = (key) => (t[`answered_${key}_pct`] == null ? "" : t[`answered_${key}_pct`] >= targets[key] ? "ok" : "miss");
    replace($("#main"), h("div", { class: "wallboard" },
      tile("open", "open alarms", String(queue.length)),
      tile("waiting", "waiting for an operator", String(waiting.length), waiting.length ? "miss" : "ok"),
      tile("oldest", "oldest waiting", oldest ? mmss(oldestS) : "none", oldestS > 60 ? "miss" : "ok"),
      tile("60s", `answered within 60 s today (target ${targets["60s"] ?? 97.5} %)`, pct(t.answered_60s_pct), meets("60s")),
      tile("180s", `answered within 180 s today (target ${targets["180s"] ?? 99} %)`, pct(t.answered_180s_pct), meets("180s")),
      tile("today", "alarms today", String(t.alarms ?? 0)),
    ));
    stamp(true, `Updated ${clockTime(new Date().toISOString())}`);
  } catch (err) {
    stamp(false, `Not updated: ${describe(err)}`);
  }
}

async function loadKpis() {
  try {
    const day = londonToday();
    kpi = await api(`/api/kpis?from=${day}&to=${day}&group=day`);
  } catch { /* the tiles say — until the next try */ }
}

startPage(["supervisor", "operator"], async () => {
  startAgeTicker(document);
  await draw(); // first: it learns the server's clock, so "today" is the server's day
  await loadKpis();
  await draw();
  setInterval(draw, QUEUE_MS);
  setInterval(async () => { await loadKpis(); draw(); }, KPI_MS);
});
