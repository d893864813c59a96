// A short two-tone beep through Web Audio for new high-priority alarms.
// Browsers block audio until the user has interacted with the page: that must never break anything,
// so every step is guarded, and the page shows whether sound is available.

let ctx = null;
let listeners = [];

export function soundState() {
  if (!ctx) return "off";
  return ctx.state === "running" ? "on" : "blocked";
}

function notify() {
  for (const fn of listeners) {
    try { fn(soundState()); } catch { /* a listener's problem is not ours */ }
  }
}

export function onSoundState(fn) {
  listeners.push(fn);
  fn(soundState());
}

// Create (or wake) the audio context; call from a click to unlock audio.
export async function enableSound() {
  try {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return false;
    if (!ctx) {
      ctx = new Ctx();
      ctx.addEventListener?.("statechange", notify);
    }
    if (ctx.state === "suspended") await ctx.resume();
  } catch {
    /* audio not allowed: the visual cue still works */
  }
  notify();
  return soundState() === "on";
}

export function beep() {
  try {
    if (!ctx || ctx.state !== "running") {
      enableSound(); // may be refused without a user gesture; fine
      if (!ctx || ctx.state !== "running") return false;
    }
    const start = ctx.currentTime;
    for (const [offset, freq] of [[0, 880], [0.22, 660], [0.44, 880]]) {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.type = "sine";
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.0001, start + offset);
      gain.gain.exponentialRampToValueAtTime(0.3, start + offset + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + offset + 0.18);
      osc.connect(gain).connect(ctx.destination);
      osc.start(start + offset);
      osc.stop(start + offset + 0.2);
    }
    return true;
  } catch {
    return false;
  }
}
