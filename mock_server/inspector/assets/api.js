// Talking to the server: the control API with the admin token (asked for once, kept for the
// tab), the Flowdock API as one of the world's users, and Server-Sent Events over fetch.
import { $ } from "./dom.js";

const TOKEN_KEY = "flowdock-mock-admin-token";
const COOKIE = "flowdock_mock_admin";
export const OWN_HEADER = "X-Flowdock-Mock-Inspector";

export const adminToken = () => sessionStorage.getItem(TOKEN_KEY);
function rememberToken(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
  document.cookie = `${COOKIE}=${encodeURIComponent(token)}; path=/_mock; SameSite=Strict`;
}
export function controlHeaders(extra) {
  const headers = { Accept: "application/json", ...(extra || {}) };
  const token = adminToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  return headers;
}
let tokenAsked = null;
export function askToken(refused) {
  if (!tokenAsked) {
    tokenAsked = new Promise((resolve) => {
      const dlg = $("#token-dialog");
      $("#token-error").hidden = !refused;
      $("#token-form").onsubmit = () => {
        rememberToken($("#token-input").value.trim());
        tokenAsked = null;
        resolve();
      };
      dlg.showModal();
      $("#token-input").focus();
    });
  }
  return tokenAsked;
}
export async function control(path, opts = {}) {
  for (let attempt = 0; ; attempt++) {
    const init = { ...opts, headers: controlHeaders(opts.headers) };
    if (opts.json !== undefined) {
      init.body = JSON.stringify(opts.json);
      init.headers["Content-Type"] = "application/json";
    }
    const res = await fetch(`/_mock${path}`, init);
    if (res.status === 401 && attempt < 3) {
      await askToken(attempt > 0 || !!adminToken());
      continue;
    }
    return res;
  }
}
export async function controlJSON(path, opts) {
  const res = await control(path, opts);
  const body = res.status === 204 ? null : await res.json();
  if (!res.ok) throw Object.assign(new Error(body?.message || res.statusText), { body, status: res.status });
  return body;
}
// The Flowdock API as one of the world's users: Basic with the user's API token (any password).
export async function asUser(user, method, path, json) {
  const headers = { Accept: "application/json", Authorization: `Basic ${btoa(`${user.api_token}:`)}`, [OWN_HEADER]: "1" };
  const init = { method, headers };
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(json);
  }
  const res = await fetch(path, init);
  const text = await res.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch { body = text; }
  if (!res.ok) throw Object.assign(new Error(body?.message || `${res.status}`), { body, status: res.status });
  return body;
}

// Server-Sent Events over fetch (EventSource cannot send the admin token header). Reconnects
// with Last-Event-ID; reports "down" while the server does not answer.
export function sse(url, { headers, onEvent, onUp, onDown }) {
  let lastId = null;
  let retry = 2000;
  let stopped = false;
  const ctl = { abort: null };
  async function run() {
    while (!stopped) {
      const abort = new AbortController();
      ctl.abort = abort;
      try {
        const h2 = { Accept: "text/event-stream", ...(headers ? headers() : {}) };
        if (lastId !== null) h2["Last-Event-ID"] = lastId;
        const res = await fetch(url, { headers: h2, signal: abort.signal, cache: "no-store" });
        if (res.status === 401) { await askToken(!!adminToken()); continue; }
        if (!res.ok || !res.body) throw new Error(`${res.status}`);
        onUp && onUp();
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = "";
        let ev = { event: "message", data: [] };
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += value;
          let nl;
          while ((nl = buf.search(/\r\n|\r|\n/)) >= 0) {
            const line = buf.slice(0, nl);
            buf = buf.slice(nl + (buf.startsWith("\r\n", nl) ? 2 : 1));
            if (line === "") {
              if (ev.data.length && !stopped) onEvent(ev.event, ev.data.join("\n"), ev.id);
              ev = { event: "message", data: [] };
            } else if (!line.startsWith(":")) {
              const i = line.indexOf(":");
              const field = i < 0 ? line : line.slice(0, i);
              const val = i < 0 ? "" : line.slice(i + 1).replace(/^ /, "");
              if (field === "event") ev.event = val;
              else if (field === "data") ev.data.push(val);
              else if (field === "id") { ev.id = val; lastId = val; }
              else if (field === "retry" && /^\d+$/.test(val)) retry = +val;
            }
          }
        }
      } catch (err) {
        if (stopped) return;
        onDown && onDown(err);
      }
      if (!stopped) await new Promise((r) => setTimeout(r, retry));
    }
  }
  run();
  return { stop() { stopped = true; ctl.abort && ctl.abort.abort(); } };
}
