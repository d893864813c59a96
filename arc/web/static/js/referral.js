// Referral -> install in one page: the person, responders, key safe, unit and peripherals, the
// service; saved in one go, then the test call waits for the unit's heartbeat and a test activation.

import { api, describe, post } from "./api.js";
import { $, h, say } from "./dom.js";
import { clockTime } from "./time.js";
import { enter, onSubmit, peripheralFields, responderBody, responderFields } from "./tec.js";

const POLL_MS = 1500;
let rows = 0;

function removable(list, content, label) {
  const li = h("li", { class: "row" }, content,
    h("button", { type: "button", class: "small", onclick: () => { li.remove(); renumber(list); } }, `Remove ${label}`));
  list.append(li);
  renumber(list);
  return li;
}

// Inputs are named by their place (responders.0.name): renumber after a removal
function renumber(list) {
  [...list.children].forEach((li, i) => {
    for (const el of li.querySelectorAll("[name]")) el.name = el.name.replace(/^(\w+)\.\d+\./, `$1.${i}.`);
  });
}

function addResponder() {
  const n = $("#responders").children.length;
  const li = removable($("#responders"), responderFields(`responders.${n}.`, `r${rows++}`), "responder");
  li.querySelector("input").focus();
}

function addPeripheral() {
  const n = $("#peripherals").children.length;
  removable($("#peripherals"), peripheralFields(`peripherals.${n}.`, `p${rows++}`), "peripheral");
}

function body(form, flat) {
  const out = { customer: {}, unit: {}, responders: [], peripherals: [] };
  for (const [name, value] of Object.entries(flat)) {
    const [head, rest] = name.split(/\.(.*)/s);
    if (head === "customer" || head === "unit") out[head][rest] = value;
    else if (!rest) out[name] = value;
  }
  [...$("#responders").children].forEach((li, i) => out.responders.push(responderBody(li, `responders.${i}.`)));
  [...$("#peripherals").children].forEach((li, i) => {
    const get = (n) => li.querySelector(`[name="peripherals.${i}.${n}"]`).value.trim();
    out.peripherals.push({ did: get("did"), dty: get("dty"), ...(get("location_text") ? { location_text: get("location_text") } : {}) });
  });
  if (!out.unit.cid) delete out.unit;
  return out;
}

function arrived(li, arrival) {
  li.className = "check-done";
  li.querySelector(".state").textContent = `Received ${clockTime(arrival.at)}`;
  li.append(h("span", { class: "muted" }, ` — ${arrival.what}`));
}

async function waitForTestCall(saved) {
  const panel = $("#test-call");
  panel.hidden = false;
  panel.querySelector(".cid").textContent = saved.cid;
  $("#customer-link").href = `/customer?id=${saved.customer_id}`;
  panel.scrollIntoView();
  let seen = { heartbeat: false, activation: false };
  for (;;) {
    try {
      const out = await api(`/api/connections/${saved.connection_id}/test-call`);
      if (out.heartbeat && !seen.heartbeat) { arrived($("#heartbeat-check"), out.heartbeat); seen.heartbeat = true; }
      if (out.activation && !seen.activation) { arrived($("#activation-check"), out.activation); seen.activation = true; }
      if (out.passed) {
        $("#test-result").textContent = "Test call passed: the unit is heard and its activation reached the ARC.";
        $("#test-result").className = "ok-line";
        say("Test call passed", "ok");
        return;
      }
    } catch (err) {
      $("#test-result").textContent = `Not updated: ${describe(err)}`;
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

async function main() {
  if (!(await enter("/referral", ["tec"]))) return;
  $("#add-responder").addEventListener("click", addResponder);
  $("#add-peripheral").addEventListener("click", addPeripheral);
  addResponder();
  addPeripheral();
  const form = $("#referral");
  onSubmit(form, async (flat) => {
    const payload = body(form, flat);
    const saved = await post("/api/referrals", payload);
    form.querySelectorAll("input, select, textarea, button").forEach((el) => { el.disabled = true; });
    $("#save").hidden = true;
    say("Referral saved", "ok");
    if (payload.unit) waitForTestCall({ ...saved, cid: payload.unit.cid });
  });
}

main().catch((err) => say(describe(err), "error"));
