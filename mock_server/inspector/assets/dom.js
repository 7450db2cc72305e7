// The inspector's small DOM helpers: build elements, fill them, format times and statuses.

export const $ = (sel, root = document) => root.querySelector(sel);
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "text") el.textContent = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}
// replaceChildren without the null/false placeholders of optional parts.
export const fill = (el, ...children) => el.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
export const pretty = (v) => (typeof v === "string" ? v : JSON.stringify(v, null, 2));
export const clock = (iso) => (iso || "").replace(/^.*T/, "").replace("Z", "");
export const msTime = (ms) => new Date(ms).toISOString().replace("T", " ").slice(0, 19);
export function statusClass(s) {
  return s >= 500 ? "s5" : s >= 400 ? "s4" : s >= 300 ? "s3" : "s2";
}
export function copyButton(value, label) {
  return h("button", {
    type: "button", class: "copy", title: `Copy ${label}`, "aria-label": `Copy ${label}`,
    onclick: async (ev) => {
      const btn = ev.currentTarget;
      try {
        await navigator.clipboard.writeText(value);
        btn.textContent = "copied";
      } catch {
        const range = document.createRange();
        range.selectNodeContents(btn.previousSibling);
        getSelection().removeAllRanges();
        getSelection().addRange(range);
        btn.textContent = "selected";
      }
      setTimeout(() => { btn.textContent = "copy"; }, 1200);
    },
  }, "copy");
}
