// The operator dashboard: live queue, alarm card, KPI strip, connection indicator, sound cue.

import { api, describe, logOut, post, whoAmI } from "./api.js";
import { renderCard, renderNoCard } from "./card.js";
import { $, h, replace, say } from "./dom.js";
import { LiveConnection } from "./live.js";
import { isHigh, renderQueue, sortQueue } from "./queue.js";
import { beep, enableSound, onSoundState } from "./sound.js";
import { londonToday, startAgeTicker, syncServerClock } from "./time.js";

const RESYNC_MS = 60_000; // belt and braces: reload the whole queue now and then
const KPI_MS = 60_000;
const INTAKE_MS = 2_000; // with INTAKE_TIMEOUT_MS: the banner shows within 5 s of an outage
const INTAKE_TIMEOUT_MS = 2_500;
const FRESH_MS = 8_000;

const state = {
  me: null,
  alarms: new Map(), // id -> alarm summary (open alarms only)
  selectedId: null,
  card: null,
  outcomes: [],
  fresh: new Set(), // ids that just arrived or re-activated: highlighted for a few seconds
  synced: false,
  pending: null, // while a queue snapshot loads: the events received meanwhile
  view: null, // this opening of the card: its refreshes repeat it, so the look is audited once
};

function newViewId() {
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

const list = () => $("#queue-list");
const cardBox = () => $("#card");

function draw() {
  renderQueue(list(), [...state.alarms.values()], {
    selectedId: state.selectedId, me: state.me, fresh: state.fresh, onSelect: select,
  });
  const waitingHigh = [...state.alarms.values()].some((a) => isHigh(a) && a.status === "queued");
  document.title = `${waitingHigh ? "(!) " : ""}Lifeline ARC — dashboard`;
  document.body.classList.toggle("alert-waiting", waitingHigh);
}

function markFresh(id) {
  state.fresh.add(id);
  setTimeout(() => { state.fresh.delete(id); draw(); }, FRESH_MS);
}

function cue(alarm, why) {
  markFresh(alarm.id);
  if (!isHigh(alarm)) return;
  const banner = $("#cue");
  replace(banner, h("strong", {}, why), ` ${alarm.title}`);
  banner.hidden = false;
  banner.classList.remove("flash");
  void banner.offsetWidth; // restart the animation
  banner.classList.add("flash");
  setTimeout(() => { banner.hidden = true; }, 10_000);
  beep();
}

function applySummary(summary, kind, { quiet = false } = {}) {
  const before = state.alarms.get(summary.id);
  if (summary.status === "closed" || kind === "alarm.closed") state.alarms.delete(summary.id);
  else state.alarms.set(summary.id, summary);
  if (quiet) {
    // replayed after a snapshot: no second cue
  } else if (kind === "alarm.opened" && !before) cue(summary, "New alarm:");
  else if (before && summary.activation_count > before.activation_count) cue(summary, "Pressed again:");
  draw();
  if (summary.id === state.selectedId) refreshCard();
}

function onEvent(kind, payload) {
  if (state.pending && kind.startsWith("alarm.")) state.pending.push([kind, payload]);
  if (kind.startsWith("alarm.")) applySummary(payload, kind);
  else if (kind === "task.updated" && payload.alarm_id === state.selectedId) refreshCard();
  else if (kind === "keysafe.unreadable") keySafeNotice(payload);
  if (kind.startsWith("alarm.")) scheduleKpis(); // opened too: "alarms today" counts new ones
}

async function resync() {
  if (state.pending) return; // one at a time
  state.pending = []; // events that arrive while the snapshot is on its way are applied again after it
  try {
    const queue = await api("/api/alarms/queue");
    const known = new Set(state.alarms.keys());
    const buffered = state.pending;
    state.pending = null;
    state.alarms = new Map(queue.items.map((a) => [a.id, a]));
    if (state.synced) for (const a of queue.items) if (!known.has(a.id)) cue(a, "New alarm:");
    state.synced = true;
    for (const [kind, payload] of buffered) applySummary(payload, kind, { quiet: true });
    draw();
  } catch (err) {
    if (err.status !== 401) say(`Could not load the queue: ${describe(err)}`, "error");
  } finally {
    state.pending = null;
  }
}

let cardRequest = 0;
async function refreshCard() {
  const id = state.selectedId;
  if (id === null) return;
  const mine = ++cardRequest;
  try {
    const card = await api(`/api/alarms/${id}?view=${state.view}`);
    if (mine !== cardRequest || id !== state.selectedId) return;
    state.card = card;
    const kept = keepTyping(cardBox(), card.alarm.id);
    renderCard(cardBox(), card, { me: state.me, outcomes: state.outcomes, actions, act });
    kept();
  } catch (err) {
    if (mine === cardRequest) say(`Could not load alarm ${id}: ${describe(err)}`, "error");
  }
}

// A card re-renders whenever its alarm changes: keep what the operator was typing, and the focus.
function keepTyping(box, alarmId) {
  if (Number(box.dataset.alarmId) !== alarmId) {
    box.dataset.alarmId = alarmId;
    return () => {};
  }
  const values = new Map();
  for (const el of box.querySelectorAll("input[name], textarea[name], select[name]")) values.set(el.name, el.value);
  const focused = document.activeElement && box.contains(document.activeElement) ? document.activeElement.name : null;
  return () => {
    for (const el of box.querySelectorAll("input[name], textarea[name], select[name]")) {
      if (values.has(el.name) && values.get(el.name)) el.value = values.get(el.name);
    }
    if (focused) box.querySelector(`[name="${CSS.escape(focused)}"]`)?.focus();
  };
}

function select(id) {
  if (id !== state.selectedId) state.view = newViewId();
  state.selectedId = id;
  draw();
  refreshCard();
  history.replaceState(null, "", `#alarm-${id}`);
}

// Run an action from a button: disable it while it runs, report the result (done: words, or words
// from the answer), refresh the card.
async function act(button, fn, done) {
  if (button) button.disabled = true;
  try {
    const result = await fn();
    say(typeof done === "function" ? done(result) : done, "ok");
  } catch (err) {
    if (err.code === "taken") say(`Too late: ${err.message}`, "error");
    else say(describe(err), "error");
  } finally {
    if (button) button.disabled = false;
    refreshCard();
  }
}

const actions = {
  accept: async (id) => applySummary(await post(`/api/alarms/${id}/accept`), "alarm.updated"),
  note: (id, text) => post(`/api/alarms/${id}/notes`, { text }),
  dispatch: (id, body) => post(`/api/alarms/${id}/dispatch`, body),
  close: async (id, body) => {
    const summary = await post(`/api/alarms/${id}/close`, body);
    applySummary(summary, "alarm.closed");
  },
  taskStatus: (taskId, body) => post(`/api/tasks/${taskId}/status`, body),
  call: (id, body) => post(`/api/alarms/${id}/calls`, body),
  dial: (id, body) => post(`/api/alarms/${id}/dial`, body),
};

// --- keyboard: A accepts the most urgent waiting alarm, J/K (or arrows) move, Enter opens ------------

function typing(target) {
  return target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
}

function queueButtons() {
  return [...document.querySelectorAll("#queue-list .alarm-button")];
}

async function acceptNext() {
  const next = sortQueue([...state.alarms.values()]).find((a) => a.status === "queued");
  if (!next) {
    say("No alarm is waiting.", "info");
    return;
  }
  select(next.id);
  await act(null, () => actions.accept(next.id), `Accepted: ${next.title}`);
  $("#card-title")?.focus();
}

function onKey(e) {
  if (e.ctrlKey || e.metaKey || e.altKey || typing(e.target)) return;
  const buttons = queueButtons();
  const at = buttons.indexOf(document.activeElement);
  const key = e.key.toLowerCase();
  if (key === "a") {
    e.preventDefault();
    acceptNext();
  } else if ((key === "j" || e.key === "ArrowDown") && buttons.length && (at >= 0 || key === "j")) {
    e.preventDefault();
    buttons[Math.min(at + 1, buttons.length - 1)].focus();
  } else if ((key === "k" || e.key === "ArrowUp") && buttons.length && (at >= 0 || key === "k")) {
    e.preventDefault();
    buttons[Math.max(at - 1, 0)].focus();
  } else if (key === "q") {
    e.preventDefault();
    (buttons[0] || $("#queue-heading")).focus();
  }
}

// --- supervisors: told at once when a key safe cannot be read --------------------------------------

function keySafeNotice(payload) {
  if (!state.me || !["supervisor", "admin"].includes(state.me.role)) return;
  const box = $("#notices");
  box.hidden = false;
  box.prepend(h("p", { class: "notice", role: "alert" },
    h("strong", {}, "Key safe unreadable: "),
    `${payload.by || "an operator"} could not read the key-safe information of customer ${payload.customer_id}`,
    payload.alarm_id ? ` (alarm ${payload.alarm_id})` : "", ". Re-enter it in the registry."));
  beep();
}

// --- KPI strip: answered within 60 s / 180 s today ---------------------------------------------

let kpiTimer = null;
function scheduleKpis() {
  clearTimeout(kpiTimer);
  kpiTimer = setTimeout(loadKpis, 2000);
}

function pct(value) {
  return value === null || value === undefined ? "—" : `${Number(value).toFixed(1)} %`;
}

async function loadKpis() {
  const strip = $("#kpis");
  try {
    const day = londonToday();
    const k = await api(`/api/kpis?from=${day}&to=${day}&group=day`);
    const t = k.totals || {};
    const targets = k.targets || {};
    const cell = (label, value, key) => h("div", { class: "kpi", "data-kpi": key },
      h("span", { class: "kpi-value" }, value), h("span", { class: "kpi-label" }, label));
    replace(strip,
      cell("alarms today", t.alarms ?? 0, "alarms"),
      cell(`answered within 60 s (target ${targets["60s"] ?? 97.5} %)`, pct(t.answered_60s_pct), "60s"),
      cell(`answered within 180 s (target ${targets["180s"] ?? 99} %)`, pct(t.answered_180s_pct), "180s"),
      cell("median time to answer", t.median_answer_s != null ? `${Math.round(t.median_answer_s)} s` : "—", "median"),
    );
    for (const key of ["60s", "180s"]) {
      const value = t[`answered_${key}_pct`];
      const target = targets[key];
      const el = strip.querySelector(`[data-kpi="${key}"]`);
      if (value != null && target != null) el.classList.add(value >= target ? "ok" : "miss");
    }
  } catch (err) {
    replace(strip, h("p", { class: "muted" }, `KPIs unavailable (${describe(err)})`));
  }
}

// --- connection indicator and sound -------------------------------------------------------------

const STATE_TEXT = { connecting: "Connecting…", connected: "Live", reconnecting: "Reconnecting…", offline: "Offline" };

function showConnection(s) {
  const el = $("#connection");
  el.dataset.state = s;
  el.textContent = STATE_TEXT[s] || s;
  document.body.classList.toggle("disconnected", s !== "connected");
}

// Operators must know at once (within 5 s) when alarms cannot reach them, whatever the cause: the
// ingest's link to the broker, the database, a stuck ingest — or a service that cannot answer at all.
const INTAKE_TROUBLE = {
  disconnected: "the service has lost its link to the MQTT broker",
  database_unavailable: "the service cannot reach its database (units are told to try again)",
  stuck: "the service has stopped storing messages from units",
  not_running: "the service is not listening to units",
  unanswered: "the service is not answering this dashboard",
};

function showIntake(trouble) {
  const banner = $("#intake");
  const down = trouble !== null;
  if (down && banner.hidden) beep();
  banner.hidden = !down;
  banner.dataset.reason = trouble || "";
  banner.textContent = down
    ? `NOT RECEIVING ALARMS FROM UNITS: ${INTAKE_TROUBLE[trouble] || trouble}. `
      + "Follow the fallback procedure and tell the supervisor."
    : "";
}

let intakeBusy = false;
async function checkIntake() {
  if (intakeBusy) return; // the previous check is still waiting for its answer (or its timeout)
  intakeBusy = true;
  try {
    const s = await api("/api/live/status", { timeoutMs: INTAKE_TIMEOUT_MS });
    showIntake(s.receiving ? null : s.ingest);
  } catch (err) {
    // 401 goes to the log-in page (api() does it); anything else means nobody can tell us
    // alarms are arriving, and that is what the operator must be told
    if (err.status !== 401) showIntake("unanswered");
  } finally {
    intakeBusy = false;
  }
}

function setUpSound() {
  const button = $("#sound");
  onSoundState((s) => {
    button.dataset.state = s;
    button.textContent = s === "on" ? "Sound on" : "Enable sound";
    button.setAttribute("aria-pressed", s === "on" ? "true" : "false");
  });
  button.addEventListener("click", () => enableSound().then((on) => on && beep()));
  // the first interaction anywhere unlocks audio where the browser allows it
  document.addEventListener("pointerdown", () => enableSound(), { once: true });
}

async function main() {
  showConnection("connecting");
  const me = await whoAmI();
  if (!me) {
    location.assign(`/login?next=${encodeURIComponent("/dashboard")}`);
    return;
  }
  if (!["operator", "supervisor"].includes(me.role)) {
    location.assign(me.role === "ers" ? "/ers" : "/login");
    return;
  }
  state.me = me;
  $("#me").textContent = `${me.full_name} (${me.role})`;
  if (me.role === "supervisor") for (const el of document.querySelectorAll("[data-for=supervisor]")) el.hidden = false;
  document.addEventListener("keydown", onKey);
  $("#logout").addEventListener("click", logOut);
  renderNoCard(cardBox());
  setUpSound();
  startAgeTicker(document);
  api("/api/outcomes").then((o) => { state.outcomes = Array.isArray(o) ? o : o.items || []; }).catch(() => {});

  const live = new LiveConnection({
    onState: showConnection,
    onEvent,
    onHello: (hello, { resumedFrom }) => {
      if (hello.now) syncServerClock(hello.now);
      // a fresh stream (or a server whose history restarted) needs the whole queue; a resumed one
      // gets every missed event replayed after the hello
      if (resumedFrom === null || hello.last_id < resumedFrom || !state.synced) resync();
    },
    onSignedOut: () => location.assign("/login?next=/dashboard"),
    // the stream keeps failing: if the session has ended, go and log in again
    onTrouble: () => whoAmI().then((user) => { if (!user) location.assign("/login?next=/dashboard"); }, () => {}),
  });
  live.start();
  setInterval(() => { if (live.state === "connected") resync(); }, RESYNC_MS);
  loadKpis();
  setInterval(loadKpis, KPI_MS);
  checkIntake();
  setInterval(checkIntake, INTAKE_MS);
  const wanted = /^#alarm-(\d+)$/.exec(location.hash);
  if (wanted) select(Number(wanted[1]));
  window.lifelineDashboard = { state, live }; // for the browser tests and the curious
}

main().catch((err) => say(describe(err), "error"));
