// Times are stored in UTC and shown in Europe/London; ages tick against the server's clock.

export const ZONE = "Europe/London";

let offsetMs = 0; // server time minus this browser's time, from the stream's hello

export function syncServerClock(serverIso) {
  const server = Date.parse(serverIso);
  if (!Number.isNaN(server)) offsetMs = server - Date.now();
}

export function serverNow() {
  return Date.now() + offsetMs;
}

const timeFmt = new Intl.DateTimeFormat("en-GB", { timeZone: ZONE, hour: "2-digit", minute: "2-digit", second: "2-digit" });
const dateTimeFmt = new Intl.DateTimeFormat("en-GB", {
  timeZone: ZONE, day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit",
});
const dayFmt = new Intl.DateTimeFormat("en-CA", { timeZone: ZONE, year: "numeric", month: "2-digit", day: "2-digit" });

export function clockTime(iso) {
  return iso ? timeFmt.format(new Date(iso)) : "";
}

export function dateTime(iso) {
  return iso ? dateTimeFmt.format(new Date(iso)) : "";
}

// Today's date in London as YYYY-MM-DD (for the KPI query).
export function londonToday() {
  return dayFmt.format(new Date(serverNow()));
}

export function age(iso, now = serverNow()) {
  if (!iso) return "";
  const seconds = Math.max(0, Math.floor((now - Date.parse(iso)) / 1000));
  if (seconds < 3600) {
    const m = Math.floor(seconds / 60);
    return m ? `${m} min ${String(seconds % 60).padStart(2, "0")} s` : `${seconds} s`;
  }
  const hours = Math.floor(seconds / 3600);
  if (hours < 48) return `${hours} h ${String(Math.floor((seconds % 3600) / 60)).padStart(2, "0")} m`;
  return `${Math.floor(hours / 24)} days`;
}

export function ageSeconds(iso, now = serverNow()) {
  return iso ? Math.max(0, (now - Date.parse(iso)) / 1000) : 0;
}

// Update every element with data-since="<iso>" once a second.
export function startAgeTicker(root = document) {
  const tick = () => {
    const now = serverNow();
    for (const el of root.querySelectorAll("[data-since]")) {
      const text = age(el.dataset.since, now);
      if (el.textContent !== text) el.textContent = text;
    }
  };
  tick();
  return setInterval(tick, 1000);
}
