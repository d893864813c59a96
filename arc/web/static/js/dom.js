// Tiny DOM helpers: build elements without innerHTML, so no data is ever parsed as markup.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

export function $(selector, root = document) {
  return root.querySelector(selector);
}

// A definition list from [label, value] pairs; empty values are left out.
export function facts(pairs, className = "facts") {
  const rows = pairs.filter(([, value]) => value !== null && value !== undefined && value !== "");
  return h("dl", { class: className }, rows.map(([label, value]) => [h("dt", {}, label), h("dd", {}, value)]));
}

// Announce a message to screen readers and show it in the status area.
export function say(message, kind = "info") {
  const box = document.getElementById("messages");
  if (!box) return;
  const item = h("p", { class: `message message-${kind}`, role: kind === "error" ? "alert" : null }, message);
  box.prepend(item);
  while (box.children.length > 4) box.lastElementChild.remove();
  setTimeout(() => item.remove(), kind === "error" ? 15000 : 6000);
}

// A phone number a person can press to call (the council's softphone or a mobile handles tel:).
export function tel(number, label = number) {
  if (!number) return null;
  return h("a", { class: "tel", href: `tel:${String(number).replace(/[^\d+]/g, "")}` }, label);
}
