// The alarm card: everything about the person and the alarm on one screen, and what to do next.

import { facts, h, replace } from "./dom.js";
import { categoryLabel, isHigh, statusLabel, who } from "./queue.js";
import { age, clockTime, dateTime } from "./time.js";
import { actionsPanel, tasksList } from "./card_actions.js";

function section(title, ...content) {
  const id = `sec-${title.toLowerCase().replace(/[^a-z]+/g, "-")}`;
  return h("section", { class: "card-section", "aria-labelledby": id },
    h("h3", { id }, title), ...content);
}

function yesNo(value) {
  return value === true ? "yes" : value === false ? "no" : null;
}

function header(card, me) {
  const alarm = card.alarm;
  const held = alarm.accepted_by;
  return h("header", { class: `card-head ${isHigh(alarm) ? "high" : ""}` },
    h("h2", { id: "card-title" }, alarm.title),
    h("p", { class: "card-sub" },
      h("span", { class: "badge" }, isHigh(alarm) ? "High priority" : categoryLabel(alarm.category)),
      " ", h("span", { class: "badge status" }, statusLabel(alarm.status)),
      ` · raised ${clockTime(alarm.raised_at)} (`,
      h("time", { datetime: alarm.raised_at, dataset: { since: alarm.raised_at } }, age(alarm.raised_at)), " ago)",
      alarm.activation_count > 1 ? ` · ${alarm.activation_count} activations` : "",
    ),
    h("p", { class: "holder-line", "data-testid": "holder" },
      held ? (me && held.id === me.id ? "You hold this alarm" : `Held by ${held.name}`) : "Nobody holds this alarm yet"),
  );
}

function person(card) {
  const c = card.customer;
  if (!c) {
    return section("Person", h("p", { class: "warning" },
      `No customer is registered for unit ${card.alarm.cid}. Treat it as a real alarm: call back on the caller id.`));
  }
  const name = c.preferred_name ? `${c.name} (${c.preferred_name})` : c.name;
  const address = [c.address_line1, c.address_line2, c.town, c.postcode].filter(Boolean).join(", ");
  const away = c.away
    ? h("p", { class: "warning away", "data-testid": "away" },
      c.away.kind === "hospital" ? "In hospital" : "On holiday", ` since ${c.away.starts_on}`,
      c.away.ends_on ? ` (until ${c.away.ends_on})` : "", " — handle the alarm as usual; they may not be at home.")
    : null;
  return section("Person",
    h("p", { class: "person-name" }, name),
    away,
    facts([
      ["Age", c.age != null ? `${c.age} (born ${c.date_of_birth})` : c.date_of_birth],
      ["Address", address],
      ["Phone", c.phone_primary],
      ["Other phone", c.phone_secondary],
      ["Language", c.language],
      ["Communication", c.communication_needs],
      ["GP", [c.gp_name, c.gp_phone].filter(Boolean).join(", ")],
    ]),
    c.risk_notes ? h("div", { class: "notes risk" }, h("h4", {}, "Risks"), h("p", {}, c.risk_notes)) : null,
    c.medical_notes ? h("div", { class: "notes medical" }, h("h4", {}, "Medical"), h("p", {}, c.medical_notes)) : null,
  );
}

function keySafe(card, me) {
  const held = card.alarm.accepted_by;
  const mine = held && me && held.id === me.id;
  return section("Key safe",
    card.key_safe
      ? h("p", { class: "keysafe", "data-testid": "key-safe" }, card.key_safe)
      : h("p", { class: "muted" }, mine ? "No key-safe information recorded." : "Shown to the operator who accepts the alarm."));
}

function trigger(card) {
  const t = card.trigger || {};
  const geo = t.geo;
  return section("Trigger",
    facts([
      ["Device", t.device_type],
      ["Device id", t.did],
      ["Status", t.status_text],
      ["Where", t.location_text],
    ]),
    geo ? h("p", {},
      "GPS fix ", `${geo.lat.toFixed(5)}, ${geo.lon.toFixed(5)}`, geo.at ? ` at ${clockTime(geo.at)}` : "", " — ",
      h("a", { href: geo.map_url, target: "_blank", rel: "noopener noreferrer" }, "open map")) : null,
  );
}

function unit(card) {
  const u = card.unit;
  if (!u) return null;
  return section("Unit", facts([
    ["Unit", `${u.cid}${u.model ? ` (${u.model})` : ""}`],
    ["Comms", u.comms_state],
    ["IP link", u.ip_link],
    ["Mobile link", u.mobile_link],
    ["Mains", u.mains],
    ["Battery low", yesNo(u.battery_low)],
    ["Last heard", dateTime(u.last_heard_at)],
  ]));
}

function peripherals(card) {
  const list = card.peripherals || [];
  if (!list.length) return null;
  return section("Peripherals", h("ul", { class: "plain" },
    list.map((p) => h("li", {}, `${p.device_type || p.dty} ${p.did ? `(${p.did})` : ""}`,
      p.location_text ? ` — ${p.location_text}` : ""))));
}

function history(card) {
  const list = card.history || [];
  return section("Recent alarms", list.length
    ? h("ol", { class: "plain history" }, list.map((a) => h("li", {},
      `${dateTime(a.raised_at)} — ${a.title}`, a.outcome_code ? ` (${a.outcome_code})` : "")))
    : h("p", { class: "muted" }, "No earlier alarms."));
}

function flags(card) {
  const list = card.flags || [];
  if (!list.length) return null;
  return section("TEC flags", h("ul", { class: "plain flags" },
    list.map((f) => h("li", { class: `flag sev-${f.severity}`, title: f.reason }, f.summary, h("span", { class: "muted" }, ` — ${f.reason}`)))));
}

function script(card) {
  if (!card.script) return null;
  return section("Call script", h("div", { class: "script" }, card.script));
}

function events(card) {
  const list = card.events || [];
  return section("Log", h("ol", { class: "plain log" }, list.map((e) => h("li", {},
    h("time", { datetime: e.at }, clockTime(e.at)), ` ${e.type} — ${e.actor}`,
    e.data && e.data.text ? `: ${e.data.text}` : ""))));
}

export function renderCard(container, card, ctx) {
  replace(container,
    header(card, ctx.me),
    h("div", { class: "card-grid" },
      h("div", { class: "card-col" },
        // who and what first: the operator speaks to the person within seconds
        person(card),
        trigger(card),
        keySafe(card, ctx.me),
        actionsPanel(card, ctx),
        script(card),
        unit(card),
      ),
      h("div", { class: "card-col" },
        tasksList(card, ctx),
        peripherals(card),
        flags(card),
        history(card),
        events(card),
      ),
    ),
  );
  container.hidden = false;
}

export function renderNoCard(container) {
  replace(container, h("p", { class: "muted placeholder" }, "Pick an alarm from the queue to see its card."));
}

export { who };
