// The dashboard's live connection: SSE with catch-up by event id, and an honest indicator.
//   connected    — the stream is open and said hello
//   reconnecting — it dropped; trying again (with back-off), resuming after the last event seen
//   offline      — the browser is offline, or several attempts in a row failed

export const EVENT_KINDS = ["alarm.opened", "alarm.updated", "alarm.closed", "task.updated"];
const OFFLINE_AFTER = 4; // failed attempts before we call it offline

export class LiveConnection {
  constructor({ url = "/api/live/stream", onEvent, onHello, onState, onSignedOut, onTrouble }) {
    this.url = url;
    this.onEvent = onEvent;
    this.onHello = onHello;
    this.onState = onState;
    this.onSignedOut = onSignedOut;
    this.onTrouble = onTrouble;
    this.lastId = null; // id of the last event received in order: where a reconnect resumes
    this.state = "connecting";
    this.failures = 0;
    this.source = null;
    this.timer = null;
    window.addEventListener("offline", () => this._drop("offline"));
    window.addEventListener("online", () => this._reconnectNow());
  }

  start() {
    this._open();
  }

  _setState(state) {
    if (state === this.state) return;
    this.state = state;
    try { this.onState?.(state); } catch (err) { console.error(err); }
  }

  _open() {
    clearTimeout(this.timer);
    this.timer = null;
    if (!navigator.onLine) {
      this._setState("offline");
      return;
    }
    const resumeFrom = this.lastId;
    const url = resumeFrom === null ? this.url : `${this.url}?after=${encodeURIComponent(resumeFrom)}`;
    const source = new EventSource(url);
    this.source = source;
    source.addEventListener("hello", (e) => {
      if (source !== this.source) return;
      this.failures = 0;
      const hello = JSON.parse(e.data);
      if (this.lastId === null && e.lastEventId) this.lastId = Number(e.lastEventId);
      this._setState("connected");
      try { this.onHello?.(hello, { resumedFrom: resumeFrom }); } catch (err) { console.error(err); }
    });
    for (const kind of EVENT_KINDS) {
      source.addEventListener(kind, (e) => {
        if (source !== this.source) return;
        if (e.lastEventId) this.lastId = Number(e.lastEventId); // late events carry no id and keep it
        let payload;
        try { payload = JSON.parse(e.data); } catch { return; }
        try { this.onEvent?.(kind, payload); } catch (err) { console.error(err); }
      });
    }
    source.addEventListener("signed_out", () => {
      this.stop();
      this.onSignedOut?.();
    });
    source.onerror = () => {
      if (source !== this.source) return;
      this._drop(navigator.onLine ? "reconnecting" : "offline");
    };
  }

  _drop(state) {
    if (this.source) {
      this.source.close();
      this.source = null;
    }
    if (this.stopped) return;
    this.failures += 1;
    this._setState(state === "offline" || this.failures > OFFLINE_AFTER ? "offline" : "reconnecting");
    if (this.failures >= 2 && navigator.onLine) {
      try { this.onTrouble?.(); } catch (err) { console.error(err); }
    }
    if (state === "offline" && !navigator.onLine) return; // the "online" event brings us back
    const delay = Math.min(15000, 500 * 2 ** Math.min(this.failures - 1, 5)) + Math.random() * 250;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this._open(), delay);
  }

  _reconnectNow() {
    if (this.stopped || (this.source && this.state === "connected")) return;
    this._setState("reconnecting");
    this._open();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.source) this.source.close();
    this.source = null;
  }
}
