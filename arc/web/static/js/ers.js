// The ERS responder's jobs, on a phone: accept / en route / arrived / done, with a note.

import { api, describe, logOut, post, whoAmI } from "./api.js";
import { $, facts, h, replace, say, tel } from "./dom.js";
import { beep, enableSound } from "./sound.js";
import { age, clockTime, startAgeTicker } from "./time.js";

const POLL_MS = 15_000;
const NEXT = {
  requested: [["accepted", "Accept", "primary"], ["declined", "Decline", "danger"]],
  accepted: [["en_route", "En route", "primary"]],
  en_route: [["arrived", "Arrived", "primary"]],
  arrived: [["done", "Done", "primary"]],
};
const LABEL = { requested: "New job", accepted: "Accepted", en_route: "En route", arrived: "On scene" };

let known = null; // job ids seen so far (null until the first load)
// this opening of the page: its polls repeat it, so each look is audited once, not every 15 s
const VIEW = Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => b.toString(16).padStart(2, "0")).join("");

function mapLink(address) {
  const query = [address.address_line1, address.town, address.postcode].filter(Boolean).join(", ");
  return h("a", {
    href: `https://www.openstreetmap.org/search?query=${encodeURIComponent(query)}`,
    target: "_blank", rel: "noopener noreferrer",
  }, "map");
}

function closedJob(job) {
  return h("li", { class: "job job-closed", dataset: { taskId: job.id } },
    h("h2", {}, job.alarm ? job.alarm.title : `Job ${job.id}`),
    h("p", { class: "job-status" }, h("span", { class: "badge" }, "Alarm closed"),
      ` · asked ${clockTime(job.requested_at)}`),
    h("p", { class: "warning", "data-testid": "job-closed" },
      "The ARC has closed this alarm: nothing more to do here. Call the ARC if you are still on scene."));
}

function jobCard(job) {
  if (job.alarm_closed) return closedJob(job);
  const a = job.address;
  const note = h("textarea", { id: `note-${job.id}`, rows: 2, maxlength: 2000 });
  const send = async (button, status, label) => {
    button.disabled = true;
    try {
      const body = { status };
      if (note.value.trim()) body.note = note.value.trim();
      await post(`/api/ers/jobs/${job.id}/status`, body);
      say(`${label}: recorded`, "ok");
      await load();
    } catch (err) {
      say(describe(err), "error");
      button.disabled = false;
    }
  };
  const keySafe = job.key_safe_state === "unreadable"
    ? h("p", { class: "warning" }, "Key safe: unreadable here — call the ARC for the code.")
    : job.key_safe ? facts([["Key safe", job.key_safe]]) : null;
  return h("li", { class: `job job-${job.status}`, dataset: { taskId: job.id } },
    h("h2", {}, job.alarm ? job.alarm.title : `Job ${job.id}`),
    h("p", { class: "job-status" }, h("span", { class: "badge" }, LABEL[job.status] || job.status),
      ` · asked ${clockTime(job.requested_at)} (`, h("time", { dataset: { since: job.requested_at } }, age(job.requested_at)), " ago)"),
    a ? h("div", { class: "job-address" },
      h("p", { class: "person-name" }, a.name),
      h("p", {}, [a.address_line1, a.address_line2, a.town, a.postcode].filter(Boolean).join(", "), " — ", mapLink(a)),
      a.phone_primary ? h("p", {}, tel(a.phone_primary)) : null,
    ) : h("p", { class: "warning" }, "Address unknown — call the ARC."),
    job.risk_notes ? h("div", { class: "risks", "data-testid": "risks" }, h("h3", {}, "Before you go in"), h("p", {}, job.risk_notes)) : null,
    job.medical_notes ? h("div", { class: "risks", "data-testid": "medical" }, h("h3", {}, "Medical notes (shared with responders)"), h("p", {}, job.medical_notes))
      : job.status === "requested" ? h("p", { class: "muted" }, "Risks, phone and key safe show once you accept.") : null,
    keySafe,
    job.note ? h("p", { class: "muted" }, job.note) : null,
    h("div", { class: "field" }, h("label", { for: note.id }, "Note (sent with your next update)"), note),
    h("div", { class: "job-actions" }, (NEXT[job.status] || []).map(([status, label, cls]) => h("button", {
      type: "button", class: `big ${cls}`, "data-status": status,
      onclick: (e) => send(e.currentTarget, status, label),
    }, label))),
  );
}

async function load() {
  try {
    const out = await api(`/api/ers/jobs?view=${VIEW}`);
    const jobs = out.items || [];
    const ids = new Set(jobs.map((j) => j.id));
    if (known && jobs.some((j) => !known.has(j.id))) {
      beep();
      say("New job", "ok");
    }
    known = ids;
    replace($("#jobs"), jobs.map(jobCard));
    $("#jobs-empty").hidden = jobs.length > 0;
    $("#updated").textContent = `Updated ${clockTime(new Date().toISOString())}`;
    $("#updated").dataset.state = "ok";
  } catch (err) {
    $("#updated").textContent = `Not updated: ${describe(err)}`;
    $("#updated").dataset.state = "error";
  }
}

async function main() {
  const me = await whoAmI();
  if (!me) {
    location.assign("/login?next=/ers");
    return;
  }
  if (me.role !== "ers") {
    location.assign(["operator", "supervisor"].includes(me.role) ? "/dashboard" : "/login");
    return;
  }
  $("#me").textContent = me.full_name;
  $("#logout").addEventListener("click", logOut);
  $("#refresh").addEventListener("click", load);
  document.addEventListener("pointerdown", () => enableSound(), { once: true });
  startAgeTicker(document);
  await load();
  setInterval(load, POLL_MS);
  window.addEventListener("online", load);
}

main().catch((err) => say(describe(err), "error"));
