// flowdock-mock inspector. Plain ES2020, no dependencies, no build step: served inline by
// mock_server/inspector/page.py. It reads through the control API (/_mock/...) and writes only
// when a button is pressed: Chat as posts through the Flowdock API as the chosen user, the
// Faults view PUTs the fault table, "Clear journal" empties the journal.
"use strict";
(() => {
  const HINTS = window.INSPECTOR_HINTS || {};
  const TOKEN_KEY = "flowdock-mock-admin-token";
  const COOKIE = "flowdock_mock_admin";
  const OWN_HEADER = "X-Flowdock-Mock-Inspector";
  const MAX_ROWS = 2000;

  // --- small DOM helpers ------------------------------------------------------------------------
  const $ = (sel, root = document) => root.querySelector(sel);
  function h(tag, attrs, ...children) {
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
  const fill = (el, ...children) => el.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  const pretty = (v) => (typeof v === "string" ? v : JSON.stringify(v, null, 2));
  const clock = (iso) => (iso || "").replace(/^.*T/, "").replace("Z", "");
  const msTime = (ms) => new Date(ms).toISOString().replace("T", " ").slice(0, 19);
  function statusClass(s) {
    return s >= 500 ? "s5" : s >= 400 ? "s4" : s >= 300 ? "s3" : "s2";
  }
  function copyButton(value, label) {
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

  // --- talking to the server --------------------------------------------------------------------
  const adminToken = () => sessionStorage.getItem(TOKEN_KEY);
  function rememberToken(token) {
    sessionStorage.setItem(TOKEN_KEY, token);
    document.cookie = `${COOKIE}=${encodeURIComponent(token)}; path=/_mock; SameSite=Strict`;
  }
  function controlHeaders(extra) {
    const headers = { Accept: "application/json", ...(extra || {}) };
    const token = adminToken();
    if (token) headers.Authorization = `Bearer ${token}`;
    return headers;
  }
  let tokenAsked = null;
  function askToken(refused) {
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
  async function control(path, opts = {}) {
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
  async function controlJSON(path, opts) {
    const res = await control(path, opts);
    const body = res.status === 204 ? null : await res.json();
    if (!res.ok) throw Object.assign(new Error(body?.message || res.statusText), { body, status: res.status });
    return body;
  }
  // The Flowdock API as one of the world's users: Basic with the user's API token (any password).
  async function asUser(user, method, path, json) {
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
  function sse(url, { headers, onEvent, onUp, onDown }) {
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

  // --- shared state -----------------------------------------------------------------------------
  const S = {
    entries: [],          // journal entries, oldest first
    world: null,          // GET /_mock/state
    users: new Map(), flows: new Map(), orgs: new Map(),
    operations: [],       // from /_mock/coverage
    spec: null,           // /openapi.json, loaded when a violation needs its schema path
    view: "requests",
    selected: null,       // journal entry id shown in the detail pane
    up: false,
    controlPaths: new Set(),
    prefix: "",           // "" for the default world, "/worlds/<id>" for another (GET /_mock/worlds)
    feed: null,
  };
  const userName = (id) => {
    const u = S.users.get(Number(id));
    return u ? u.nick : id === null || id === undefined ? "" : `#${id}`;
  };
  const flowLabel = (f) => `${S.orgs.get(f.organization_id)?.parameterized_name}/${f.parameterized_name}`;
  // In a URL: each name one encoded path segment, whatever the world document holds.
  const flowPath = (f) => `${encodeURIComponent(S.orgs.get(f.organization_id)?.parameterized_name)}/${encodeURIComponent(f.parameterized_name)}`;

  async function loadWorld() {
    S.world = await controlJSON(`${S.prefix}/state`);
    S.users = new Map(S.world.users.map((u) => [u.id, u]));
    S.orgs = new Map(S.world.organizations.map((o) => [o.id, o]));
    S.flows = new Map(S.world.flows.map((f) => [f.id, f]));
    fillUserFilter();
  }
  async function loadOperations() {
    const cov = await controlJSON(`${S.prefix}/coverage`);
    S.operations = cov.operations;
    if ($("#fault-op").options.length) return cov;
    const opts = S.operations.map((o) => h("option", { value: o.operationId }, o.operationId));
    $("#f-op").append(...opts.map((o) => o.cloneNode(true)));
    $("#fault-op").append(...opts);
    return cov;
  }
  async function loadControlPaths() {
    try {
      const doc = await controlJSON("/openapi.json");
      S.controlPaths = new Set(Object.keys(doc.paths));
    } catch { /* older server: optional panels stay hidden */ }
  }

  // --- connection state -------------------------------------------------------------------------
  function setUp(up, why) {
    S.up = up;
    const conn = $("#conn");
    conn.textContent = up ? "live" : "disconnected";
    conn.className = `conn ${up ? "up" : "down"}`;
    const gone = $("#gone");
    if (up) {
      gone.hidden = true;
    } else {
      gone.hidden = false;
      gone.textContent = `The mock server at ${location.origin} is not answering${why ? ` (${why})` : ""}. ` +
        "The page keeps what it has and reconnects by itself when the server is back.";
    }
  }

  // --- Requests view ----------------------------------------------------------------------------
  function fillUserFilter() {
    const sel = $("#f-user");
    const keep = sel.value;
    sel.replaceChildren(h("option", { value: "" }, "anyone"), h("option", { value: "none" }, "no user"),
      ...[...S.users.values()].map((u) => h("option", { value: String(u.id) }, `${u.nick} (#${u.id})`)));
    sel.value = keep;
  }
  function statusMatches(filter, status) {
    const parts = filter.split(/[\s,]+/).filter(Boolean);
    if (!parts.length) return true;
    return parts.some((p) => (/^\dxx$/i.test(p) ? String(status)[0] === p[0] : String(status) === p));
  }
  const isOwn = (e) => e.headers && e.headers[OWN_HEADER.toLowerCase()] === "1";
  function matches(e) {
    const op = $("#f-op").value;
    const user = $("#f-user").value;
    if (op && e.operationId !== op) return false;
    if (!statusMatches($("#f-status").value, e.status)) return false;
    if (user === "none" ? e.user_id !== null : user && String(e.user_id) !== user) return false;
    if ($("#f-violations").checked && !e.violations.length) return false;
    if ($("#f-own").checked && isOwn(e)) return false;
    return true;
  }
  function requestRow(e) {
    const notes = [];
    if (e.violations.length) notes.push(h("span", { class: "tag bad", title: e.violations.join("\n") }, `${e.violations.length} violation${e.violations.length > 1 ? "s" : ""}`));
    if (e.normalizations.length) notes.push(h("span", { class: "tag legacy", title: e.normalizations.join(", ") }, `legacy: ${e.normalizations.join(", ")}`));
    if (e.forced) notes.push(h("span", { class: "tag forced" }, e.forced));
    if (isOwn(e)) notes.push(h("span", { class: "tag own" }, "inspector"));
    const tr = h("tr", {
      tabindex: "0", dataset: { id: String(e.id) }, "aria-selected": S.selected === e.id ? "true" : "false",
      class: e.violations.length ? "violating" : "",
    },
    h("td", { class: "num" }, e.id),
    h("td", {}, clock(e.time)),
    h("td", { class: "req" }, h("b", {}, e.method), " ", h("code", {}, e.path + (e.query ? `?${e.query}` : ""))),
    h("td", {}, e.operationId ? h("code", {}, e.operationId) : h("i", {}, "no operation")),
    h("td", { class: `status ${statusClass(e.status)}` }, e.status),
    h("td", { class: "num" }, e.duration_ms.toFixed(1)),
    h("td", {}, userName(e.user_id)),
    h("td", {}, notes));
    return tr;
  }
  function renderRequests() {
    const tbody = $("#req-table tbody");
    const rows = [];
    for (let i = S.entries.length - 1; i >= 0; i--) if (matches(S.entries[i])) rows.push(requestRow(S.entries[i]));
    tbody.replaceChildren(...rows);
    updateCount(rows.length);
  }
  function updateCount(shown) {
    $("#req-count").textContent = `${shown} of ${S.entries.length} shown`;
    $("#req-empty").hidden = S.entries.length > 0;
  }
  function addEntry(e) {
    S.entries.push(e);
    if (S.entries.length > MAX_ROWS) S.entries.shift();
    if (matches(e)) {
      const tbody = $("#req-table tbody");
      tbody.prepend(requestRow(e));
      while (tbody.rows.length > MAX_ROWS) tbody.lastChild.remove();
    }
    updateCount($("#req-table tbody").rows.length);
  }

  // Where a violation points in the contract: the field it names, resolved to a JSON pointer into
  // /openapi.json (the parameter's schema, or the request body schema's property).
  const esc = (s) => s.replace(/~/g, "~0").replace(/\//g, "~1");
  function resolveRef(ptr) {
    let node = S.spec;
    for (const part of ptr.replace(/^#\//, "").split("/")) node = node?.[part.replace(/~1/g, "/").replace(/~0/g, "~")];
    return node;
  }
  function violationField(text) {
    let m = text.match(/ - '([^']*)'$/);
    if (m) return { field: m[1], kind: "value" };
    m = text.match(/^'([^']+)' is a required property/);
    if (m) return { field: m[1], kind: "required" };
    m = text.match(/^([A-Za-z_][\w.]*): /);
    if (m) return { field: m[1], kind: "value" };
    m = text.match(/parameter '([^']+)'/);
    if (m) return { field: m[1], kind: "value" };
    return { field: null, kind: "body" };
  }
  function schemaPath(entry, text) {
    if (!S.spec || !entry.operationId) return null;
    const { field, kind } = violationField(text);
    for (const [path, item] of Object.entries(S.spec.paths)) {
      for (const [method, op] of Object.entries(item)) {
        if (op?.operationId !== entry.operationId) continue;
        const base = `#/paths/${esc(path)}/${method}`;
        const params = [...(item.parameters || []).map((p, i) => [`#/paths/${esc(path)}/parameters/${i}`, p]),
          ...(op.parameters || []).map((p, i) => [`${base}/parameters/${i}`, p])];
        for (let [ptr, p] of params) {
          if (p.$ref) { ptr = p.$ref; p = resolveRef(p.$ref); }
          if (field && p?.name === field) return `${ptr}/schema`;
        }
        const content = op.requestBody?.content || {};
        const type = Object.keys(content).find((t) => t.includes("json")) || Object.keys(content)[0];
        if (!type) return base;
        let ptr = `${base}/requestBody/content/${esc(type)}/schema`;
        let schema = content[type].schema;
        if (schema?.$ref) { ptr = schema.$ref; schema = resolveRef(schema.$ref); }
        if (!field) return ptr;
        if (kind === "required") return `${ptr}/required`;
        for (const part of field.split(".")) {
          if (/^\d+$/.test(part) && schema?.items) { ptr += "/items"; schema = schema.items; }
          else if (schema?.properties?.[part]) { ptr += `/properties/${esc(part)}`; schema = schema.properties[part]; }
          else break;
          if (schema?.$ref) { ptr = schema.$ref; schema = resolveRef(schema.$ref); }
        }
        return ptr;
      }
    }
    return null;
  }
  async function ensureSpec() {
    if (S.spec) return;
    const res = await fetch("/openapi.json", { headers: { Accept: "application/json" } });
    if (res.ok) S.spec = await res.json();
  }

  async function showDetail(id, focus) {
    const e = S.entries.find((x) => x.id === id);
    if (!e) return;
    S.selected = id;
    for (const tr of $("#req-table tbody").rows) tr.setAttribute("aria-selected", tr.dataset.id === String(id) ? "true" : "false");
    if (e.violations.length) await ensureSpec().catch(() => {});
    const pane = $("#req-detail");
    const dl = h("dl", {},
      h("dt", {}, "operation"), h("dd", {}, e.operationId ? h("code", {}, e.operationId) : "none (no route matched)"),
      h("dt", {}, "status"), h("dd", { class: `status ${statusClass(e.status)}` }, e.status),
      h("dt", {}, "duration"), h("dd", {}, `${e.duration_ms} ms`),
      h("dt", {}, "time"), h("dd", {}, e.time),
      h("dt", {}, "user"), h("dd", {}, e.user_id === null ? "none" : `${userName(e.user_id)} (#${e.user_id})`),
      h("dt", {}, "forced"), h("dd", { class: "forced-by" }, e.forced || "no"));
    const violations = e.violations.map((v) => {
      const where = schemaPath(e, v);
      return h("li", {}, h("span", {}, v), where ? h("div", { class: "schema-path" }, "schema: ", h("code", {}, where)) : null);
    });
    fill(pane,
      h("div", { class: "pane-head" },
        h("h2", {}, `${e.method} ${e.path}`),
        h("button", { type: "button", class: "close", "aria-label": "Close details", onclick: closeDetail }, "×")),
      e.query ? h("p", {}, h("code", {}, `?${e.query}`)) : null,
      dl,
      h("h3", {}, "Contract violations"),
      violations.length ? h("ul", { class: "violations" }, violations) : h("p", { class: "muted" }, "none"),
      h("h3", {}, "Legacy rules applied"),
      e.normalizations.length ? h("ul", {}, e.normalizations.map((n) => h("li", {}, h("code", {}, n)))) : h("p", { class: "muted" }, "none"),
      h("h3", {}, "Request headers"),
      h("table", { class: "kv" }, Object.entries(e.headers || {}).map(([k, v]) => h("tr", {}, h("th", {}, k), h("td", {}, h("code", {}, v))))),
      h("h3", {}, "Request body"),
      e.body === null || e.body === undefined ? h("p", { class: "muted" }, "none") : h("pre", { class: "body" }, pretty(e.body)));
    pane.hidden = false;
    if (focus) pane.focus();
  }
  function closeDetail() {
    const id = S.selected;
    S.selected = null;
    $("#req-detail").hidden = true;
    const row = $(`#req-table tbody tr[data-id="${id}"]`);
    for (const tr of $("#req-table tbody").rows) tr.setAttribute("aria-selected", "false");
    if (row) row.focus();
  }
  function wireRequests() {
    for (const id of ["#f-op", "#f-user", "#f-violations", "#f-own"]) $(id).addEventListener("change", renderRequests);
    $("#f-status").addEventListener("input", renderRequests);
    $("#req-filters").addEventListener("submit", (ev) => ev.preventDefault());
    const tbody = $("#req-table tbody");
    tbody.addEventListener("click", (ev) => {
      const tr = ev.target.closest("tr");
      if (tr) showDetail(Number(tr.dataset.id), false);
    });
    tbody.addEventListener("keydown", (ev) => {
      const tr = ev.target.closest("tr");
      if (!tr) return;
      if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); showDetail(Number(tr.dataset.id), true); }
      else if (ev.key === "ArrowDown" && tr.nextElementSibling) { ev.preventDefault(); tr.nextElementSibling.focus(); }
      else if (ev.key === "ArrowUp" && tr.previousElementSibling) { ev.preventDefault(); tr.previousElementSibling.focus(); }
    });
    $("#req-detail").addEventListener("keydown", (ev) => { if (ev.key === "Escape") closeDetail(); });
    $("#req-clear").addEventListener("click", async () => {
      if (!confirm("Empty the request journal on the server? (Coverage counters are kept.)")) return;
      await controlJSON(`${S.prefix}/requests`, { method: "DELETE" });
    });
  }

  // --- Coverage view ----------------------------------------------------------------------------
  let coverageTimer = null;
  function refreshCoverageSoon() {
    if (S.view !== "coverage" || coverageTimer) return;
    coverageTimer = setTimeout(() => { coverageTimer = null; loadCoverage(); }, 250);
  }
  async function loadCoverage() {
    const cov = await controlJSON(`${S.prefix}/coverage`);
    $("#cov-summary").replaceChildren(
      h("strong", { id: "cov-exercised" }, `${cov.operations_exercised} of ${cov.operations_total}`),
      ` operations exercised (${cov.percent}%) by ${cov.requests} requests; `,
      `${cov.unmatched_requests} matched no operation; ${cov.violations.length} recent requests violated the contract.`);
    const onlyMissing = $("#cov-missing").checked;
    const rows = cov.operations.filter((o) => !onlyMissing || !o.calls).map((o) => h("tr", {
      class: `${o.calls ? "hit" : "miss"}${o.violations ? " bad" : ""}`, dataset: { op: o.operationId },
    },
    h("td", {}, h("code", {}, o.operationId), o.calls ? null : h("span", { class: "tag miss" }, "not exercised")),
    h("td", {}, o.method), h("td", {}, h("code", {}, o.path)),
    h("td", { class: "num calls" }, o.calls),
    h("td", {}, Object.entries(o.statuses).map(([s, n]) => h("span", { class: `tag ${statusClass(+s)}` }, `${s}×${n}`))),
    h("td", { class: "num" }, o.violations)));
    $("#cov-table tbody").replaceChildren(...rows);
  }

  // --- World view -------------------------------------------------------------------------------
  function secret(value, label) {
    return h("span", { class: "secret" }, h("code", {}, value), copyButton(value, label));
  }
  function details(title, open, ...body) {
    return h("details", { open }, h("summary", {}, title), ...body);
  }
  async function loadStreams() {
    if (!S.controlPaths.has("/streams")) return null;
    try { return await controlJSON("/streams"); } catch { return null; }
  }
  async function renderWorld() {
    await loadWorld();
    const w = S.world;
    const streams = await loadStreams();
    $("#world-summary").textContent = `${S.prefix ? `World ${$("#world-select").value}: ` : ""}${w.organizations.length} organizations, ${w.flows.length} flows, ` +
      `${w.users.length} users, ${w.messages.length} flow messages, seed ${w.seed}`;
    const users = h("table", { class: "grid", id: "world-users" },
      h("thead", {}, h("tr", {}, h("th", {}, "id"), h("th", {}, "nick"), h("th", {}, "name"), h("th", {}, "email"),
        h("th", {}, "password"), h("th", {}, "API token"))),
      h("tbody", {}, w.users.map((u) => h("tr", { dataset: { user: String(u.id) } },
        h("td", { class: "num" }, u.id), h("td", {}, u.nick), h("td", {}, u.name), h("td", {}, secret(u.email, `${u.nick}'s email`)),
        h("td", {}, u.password ? secret(u.password, `${u.nick}'s password`) : h("i", {}, "none")),
        h("td", {}, u.api_token ? secret(u.api_token, `${u.nick}'s API token`) : h("i", {}, "none"))))));
    const orgs = w.organizations.map((o) => h("li", {}, h("b", {}, o.name), ` (${o.parameterized_name}, #${o.id}) — `,
      o.members.map((m) => `${userName(m.user)}${m.admin ? " (admin)" : ""}`).join(", ")));
    const flows = w.flows.map((f) => {
      const msgs = w.messages.filter((m) => m.flow === f.id);
      const threads = w.threads.filter((t) => t.flow === f.id);
      const sources = (w.sources || []).filter((s) => s.flow === f.id);
      return details(`${flowLabel(f)} — ${f.name} (${f.access_mode}${f.disabled ? ", disabled" : ""}): ${f.members.length} members, ${msgs.length} messages, ${threads.length} threads`, false,
        h("p", {}, "members: ", f.members.map((m) => `${userName(m.user)}${m.flow_admin ? " (admin)" : ""}`).join(", ")),
        h("p", {}, "flow API token: ", secret(f.api_token, `${flowLabel(f)}'s flow token`)),
        sources.length ? h("p", {}, "sources: ", sources.map((s) => h("span", { class: "src" }, `${s.name} (#${s.id}) `, secret(s.flow_token, `${s.name}'s flow_token`)))) : null,
        threads.length ? h("ul", { class: "threads" }, threads.map((t) => h("li", {},
          h("b", {}, t.title || "(untitled thread)"), ` ${t.id}`,
          h("ol", { class: "msgs" }, msgs.filter((m) => m.thread_id === t.id).map(worldMessage))))) : null,
        msgs.filter((m) => !m.thread_id).length ? h("ol", { class: "msgs" }, msgs.filter((m) => !m.thread_id).map(worldMessage)) : null);
    });
    const privates = (w.private_conversations || []).map((p) => details(
      `${p.users.map(userName).join(" ↔ ")}: ${p.messages.length} messages`, false,
      h("ol", { class: "msgs" }, p.messages.map(worldMessage))));
    const sections = [
      details(`Users (${w.users.length})`, true, h("div", { class: "scroll" }, users)),
      details(`Organizations (${w.organizations.length})`, true, h("ul", {}, orgs)),
      details(`Flows, threads and messages (${w.flows.length})`, true, ...flows),
      details(`Private conversations (${privates.length})`, false, ...privates),
      details(`Open streams${streams ? ` (${streams.streams.length})` : ""}`, !!streams?.streams.length, streamsTable(streams)),
    ];
    // The bot-testing kit's state, when this server has it: the clock and the outgoing webhooks.
    const world = S.prefix ? `?world=${encodeURIComponent($("#world-select").value)}` : "";
    if (S.controlPaths.has("/clock")) {
      try {
        const c = await controlJSON(`/clock${world}`);
        sections.push(details(`Clock: ${c.iso}${c.frozen ? " (frozen)" : ""}`, false, h("pre", { class: "body", id: "world-clock" }, pretty(c))));
      } catch { /* optional */ }
    }
    if (S.controlPaths.has("/webhooks")) {
      try {
        const hooks = (await controlJSON(`/webhooks${world}`)).webhooks;
        sections.push(details(`Webhooks (${hooks.length})`, hooks.length > 0, webhooksTable(hooks)));
      } catch { /* optional */ }
    }
    fill($("#world"), sections);
  }
  function webhooksTable(hooks) {
    if (!hooks.length) return h("p", { class: "muted" }, "No webhook is registered (POST /_mock/webhooks).");
    const flowName = (id) => (S.flows.has(id) ? flowPath(S.flows.get(id)) : id);
    const all = (list, name = (x) => x) => (list.length ? list.map(name).join(", ") : h("i", {}, "all"));
    return h("div", { class: "scroll" }, h("table", { class: "grid", id: "world-webhooks" },
      h("thead", {}, h("tr", {}, ["#", "URL", "flows", "events", "registered"].map((t) => h("th", {}, t)))),
      h("tbody", {}, hooks.map((w) => h("tr", {},
        h("td", { class: "num" }, w.id), h("td", {}, h("code", {}, w.url)), h("td", {}, all(w.flows, flowName)),
        h("td", {}, all(w.events)), h("td", {}, w.created_at))))));
  }
  function streamsTable(streams) {
    if (streams === null) return h("p", { class: "muted" }, "This server has no Streaming API.");
    if (!streams.streams.length) return h("p", { class: "muted" }, `No stream is open (newest event: ${streams.last_event_id}).`);
    const flowName = (id) => (S.flows.has(id) ? flowLabel(S.flows.get(id)) : id);
    return h("div", { class: "scroll" }, h("table", { class: "grid", id: "world-streams" },
      h("thead", {}, h("tr", {}, ["#", "user", "flows", "private", "format", "active", "opened", "events", "queued"].map((t) => h("th", {}, t)))),
      h("tbody", {}, streams.streams.map((c) => h("tr", {},
        h("td", { class: "num" }, c.id), h("td", {}, userName(c.user)), h("td", {}, c.flows.map(flowName).join(", ")),
        h("td", {}, c.private ? "yes" : "no"), h("td", {}, c.format), h("td", {}, c.active ?? "offline"),
        h("td", {}, clock(c.opened_at)), h("td", { class: "num" }, c.events_sent), h("td", { class: "num" }, c.queued))))));
  }
  function worldMessage(m) {
    const text = messageText(m);
    return h("li", {}, h("span", { class: "muted" }, `${msTime(m.sent)} `), h("b", {}, author(m)),
      m.event !== "message" ? h("span", { class: "tag" }, m.event) : null, " ", text,
      (m.tags || []).filter((t) => !t.startsWith(":")).map((t) => h("span", { class: "tag" }, `#${t}`)));
  }

  // --- Chat as ----------------------------------------------------------------------------------
  const chat = { user: null, where: null, messages: new Map(), selected: null, stream: null, refresh: null };
  function chatPlaces(user) {
    const places = [];
    for (const f of S.world.flows) {
      if (f.members.some((m) => m.user === user.id && !m.disabled)) places.push({ kind: "flow", id: f.id, label: flowLabel(f), flow: f });
    }
    for (const other of S.world.users) {
      if (other.id !== user.id) places.push({ kind: "private", id: `p${other.id}`, label: `private with ${other.nick}`, other });
    }
    return places;
  }
  function basePath(where) {
    return where.kind === "flow" ? `/flows/${flowPath(where.flow)}` : `/private/${where.other.id}`;
  }
  function fillChatPickers() {
    const sel = $("#chat-user");
    const keep = sel.value;
    sel.replaceChildren(...S.world.users.filter((u) => u.api_token).map((u) => h("option", { value: String(u.id) }, `${u.nick} (${u.name})`)));
    if (keep && S.users.has(Number(keep))) sel.value = keep;
    fillChatWhere();
  }
  function fillChatWhere() {
    const user = S.users.get(Number($("#chat-user").value));
    chat.user = user;
    const sel = $("#chat-where");
    const keep = sel.value;
    const places = user ? chatPlaces(user) : [];
    chat.places = new Map(places.map((p) => [p.id, p]));
    sel.replaceChildren(...places.map((p) => h("option", { value: p.id }, p.label)));
    if (keep && chat.places.has(keep)) sel.value = keep;
    openChat();
  }
  function messageText(m) {
    const c = m.content;
    if (typeof c === "string") return c;
    if (m.event === "comment") return c?.text ?? "";
    if (m.event === "file") return `file: ${c?.file_name ?? ""}`;
    if (m.event === "action") return `${c?.type ?? "action"}${c?.description ? `: ${c.description}` : ""}`;
    if (m.event === "activity" || m.event === "discussion") return m.thread?.title ?? c?.title ?? "";
    if (c === null || c === undefined) return "";
    return c.text ?? c.title ?? pretty(c);
  }
  // Every Flowdock message opens its own thread; a reply is one that is not its thread's first.
  const isReply = (m) => !!m.thread_id && !!m.thread && String(m.thread.initial_message) !== String(m.id);
  const author = (m) => (String(m.user) === "0" ? m.author?.name || m.app || "integration" : userName(m.user));
  function renderChat() {
    const log = $("#chat-log");
    const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 8;
    const list = [...chat.messages.values()].filter((m) => ["message", "comment", "status", "file", "discussion", "activity", "action", "mail"].includes(m.event))
      .sort((a, b) => a.id - b.id);
    log.replaceChildren(...list.map((m) => {
      const tags = (m.tags || []).filter((t) => !t.startsWith(":"));
      return h("li", {
        tabindex: "0", dataset: { id: String(m.id) }, class: `msg ev-${m.event}${chat.selected === m.id ? " selected" : ""}`,
        "aria-selected": chat.selected === m.id ? "true" : "false",
      },
      h("span", { class: "who" }, author(m)),
      h("span", { class: "when" }, msTime(m.sent)),
      m.event !== "message" ? h("span", { class: "tag" }, m.event) : null,
      isReply(m) ? h("span", { class: "thread", title: `in thread ${m.thread_id}` }, "↳") : null,
      h("span", { class: "text" }, messageText(m)),
      m.edited ? h("span", { class: "muted" }, " (edited)") : null,
      tags.map((t) => h("span", { class: "tag" }, `#${t}`)));
    }));
    if (atBottom) log.scrollTop = log.scrollHeight;
    const sel = chat.selected !== null && chat.messages.get(chat.selected);
    $("#chat-target").hidden = !sel;
    if (sel) {
      $("#chat-target").replaceChildren(`Selected: #${sel.id} by ${author(sel)} — `, h("i", {}, messageText(sel).slice(0, 80)),
        h("button", { type: "button", class: "close", "aria-label": "Unselect", onclick: () => { chat.selected = null; renderChat(); } }, "×"));
    }
    const flow = chat.where?.kind === "flow";
    $("#chat-comment").disabled = !sel || !flow;
    $("#chat-reply").disabled = !sel || !flow || !sel.thread_id;
    $("#chat-retag").disabled = !sel;
  }
  function applyEvent(ev) {
    // As a Flowdock client does: new items are added, message-edit and tag-change patch the one they name.
    if (ev.event === "message-edit") {
      const m = chat.messages.get(Number(ev.content?.message));
      if (m) { m.content = ev.content.updated_content; m.edited = ev.sent || true; }
    } else if (ev.event === "tag-change") {
      const m = chat.messages.get(Number(ev.content?.message));
      if (m) {
        const tags = new Set(m.tags || []);
        for (const t of ev.content.add || []) tags.add(t);
        for (const t of ev.content.remove || []) tags.delete(t);
        m.tags = [...tags];
      }
    } else if (ev.id !== undefined) {
      chat.messages.set(Number(ev.id), ev);
    }
    renderChat();
  }
  async function loadHistory() {
    const { user, where } = chat;
    if (!user || !where) return;
    const list = await asUser(user, "GET", `${basePath(where)}/messages?limit=100`);
    if (chat.user !== user || chat.where !== where) return;
    const merged = new Map(list.map((m) => [Number(m.id), m]));
    for (const [id, m] of chat.messages) if (!merged.has(id)) merged.set(id, m); // streamed meanwhile
    chat.messages = merged;
    renderChat();
  }
  function streamURL(where) {
    return where.kind === "flow" ? `/stream/flows/${flowPath(where.flow)}?` : "/stream/flows?user=1&";
  }
  // The private stream carries every conversation of the user: keep this one's (`to` names the recipient).
  function belongsHere(ev) {
    const where = chat.where;
    if (!where || where.kind === "flow") return true;
    const me = String(chat.user.id);
    const other = String(where.other.id);
    const from = String(ev.user);
    const to = ev.to === undefined || ev.to === null ? null : String(ev.to);
    if (to === null) return ev.event === "message-edit" || ev.event === "tag-change" ? chat.messages.has(Number(ev.content?.message)) : false;
    return (from === me && to === other) || (from === other && to === me);
  }
  function openChat() {
    if (chat.stream) { chat.stream.stop(); chat.stream = null; }
    chat.where = chat.places?.get($("#chat-where").value) || null;
    chat.messages = new Map();
    chat.selected = null;
    renderChat();
    if (!chat.user || !chat.where) return;
    const user = chat.user;
    const url = streamURL(chat.where);
    if (S.hasStream) {
      // Live from the Flowdock stream, as this user, exactly as a client would see the flow.
      $("#chat-live").textContent = "connecting to the stream…";
      chat.stream = sse(`${url}accept=text%2Fevent-stream`, {
        headers: () => ({ Authorization: `Basic ${btoa(`${user.api_token}:`)}`, [OWN_HEADER]: "1" }),
        onUp: () => { $("#chat-live").textContent = "live (stream)"; },
        onDown: () => { $("#chat-live").textContent = "stream disconnected, retrying…"; },
        onEvent: (_name, data) => {
          let ev;
          try { ev = JSON.parse(data); } catch { return; }
          if (belongsHere(ev)) applyEvent(ev);
        },
      });
      loadHistory().catch(showChatError);
    } else {
      // No stream on this server: re-read the conversation when the journal reports a write to it.
      $("#chat-live").textContent = "live (journal)";
      loadHistory().catch(showChatError);
    }
  }
  function chatWriteSeen(e) {
    if (!chat.where || chat.stream || e.method === "GET" || e.status >= 300) return;
    const base = basePath(chat.where);
    // The other side of a private conversation writes to /private/<my id>.
    const mine = chat.where.kind === "private" && String(e.user_id) === String(chat.where.other.id) ? `/private/${chat.user.id}` : null;
    const touches = e.path.startsWith(`${base}/`) || e.path === base || (mine && e.path.startsWith(`${mine}/`)) ||
      e.path === "/messages" || e.path === "/comments" || e.path.startsWith("/messages/");
    if (touches) {
      clearTimeout(chat.refresh);
      chat.refresh = setTimeout(() => loadHistory().catch(showChatError), 50);
    }
  }
  function showChatError(err) {
    const p = $("#chat-error");
    if (!err) { p.hidden = true; return; }
    const fields = err.body?.errors ? Object.entries(err.body.errors).map(([k, v]) => `${k}: ${v.join(", ")}`).join("; ") : "";
    p.textContent = `${err.status ? `${err.status} ` : ""}${err.message}${fields ? ` — ${fields}` : ""}`;
    p.hidden = false;
  }
  const tagList = () => $("#chat-tags").value.split(/[\s,]+/).map((t) => t.replace(/^#/, "")).filter(Boolean);
  async function chatAct(kind) {
    const { user, where } = chat;
    if (!user || !where) return;
    const text = $("#chat-text").value;
    const base = basePath(where);
    const sel = chat.selected !== null ? chat.messages.get(chat.selected) : null;
    showChatError(null);
    try {
      let result;
      if (kind === "send") {
        if (!text.trim()) return;
        const body = { event: "message", content: text };
        if (tagList().length) body.tags = tagList();
        result = await asUser(user, "POST", `${base}/messages`, body);
      } else if (kind === "comment") {
        if (!text.trim() || !sel) return;
        result = await asUser(user, "POST", `${base}/messages/${sel.id}/comments`, { content: text, tags: tagList() });
      } else if (kind === "reply") {
        if (!text.trim() || !sel) return;
        result = await asUser(user, "POST", `${base}/threads/${encodeURIComponent(sel.thread_id)}/messages`, { event: "message", content: text, tags: tagList() });
      } else if (kind === "retag") {
        if (!sel) return;
        const keep = (sel.tags || []).filter((t) => t.startsWith(":"));
        result = await asUser(user, "PUT", `${base}/messages/${sel.id}`, { tags: [...keep, ...tagList()] });
      }
      if (kind !== "retag") $("#chat-text").value = "";
      if (!chat.stream && result && result.id !== undefined && kind !== "retag") applyEvent(result);
    } catch (err) {
      showChatError(err);
    }
  }
  // POST /_mock/events: any event, delivered as if Flowdock had streamed it (the bot-testing kit).
  async function chatInject() {
    const { user, where } = chat;
    if (!user || !where) return;
    const raw = $("#chat-text").value;
    let content = raw;
    try { const parsed = JSON.parse(raw); if (parsed !== null && typeof parsed === "object") content = parsed; } catch { /* text */ }
    const body = { event: $("#chat-event").value.trim(), user: user.id, content };
    if (where.kind === "flow") body.flow = where.flow.id; else body.to = where.other.id;
    if (tagList().length) body.tags = tagList();
    const sel = chat.selected !== null ? chat.messages.get(chat.selected) : null;
    if (sel && body.event === "comment") body.message = sel.id;
    showChatError(null);
    try {
      const world = S.prefix ? `?world=${encodeURIComponent($("#world-select").value)}` : "";
      await controlJSON(`/events${world}`, { method: "POST", json: body });
      $("#chat-text").value = "";
      if (!chat.stream) await loadHistory(); // a control route: the journal does not show it
    } catch (err) { showChatError(err); }
  }
  function wireChat() {
    $("#chat-inject").addEventListener("click", chatInject);
    $("#chat-user").addEventListener("change", fillChatWhere);
    $("#chat-where").addEventListener("change", openChat);
    $("#chat-pick").addEventListener("submit", (ev) => ev.preventDefault());
    $("#chat-form").addEventListener("submit", (ev) => { ev.preventDefault(); chatAct("send"); });
    $("#chat-text").addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" && !ev.shiftKey) { ev.preventDefault(); chatAct("send"); }
    });
    $("#chat-comment").addEventListener("click", () => chatAct("comment"));
    $("#chat-reply").addEventListener("click", () => chatAct("reply"));
    $("#chat-retag").addEventListener("click", () => chatAct("retag"));
    const log = $("#chat-log");
    const select = (li) => {
      const id = Number(li.dataset.id);
      chat.selected = chat.selected === id ? null : id;
      const m = chat.messages.get(id);
      if (chat.selected !== null && m) $("#chat-tags").value = (m.tags || []).filter((t) => !t.startsWith(":")).join(", ");
      renderChat();
      const again = $(`#chat-log li[data-id="${id}"]`);
      if (again) again.focus();
    };
    log.addEventListener("click", (ev) => { const li = ev.target.closest("li"); if (li) select(li); });
    log.addEventListener("keydown", (ev) => {
      const li = ev.target.closest("li");
      if (!li) return;
      if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); select(li); }
      else if (ev.key === "ArrowDown" && li.nextElementSibling) { ev.preventDefault(); li.nextElementSibling.focus(); }
      else if (ev.key === "ArrowUp" && li.previousElementSibling) { ev.preventDefault(); li.previousElementSibling.focus(); }
    });
  }

  // --- Faults -----------------------------------------------------------------------------------
  const faults = { rows: {}, seed: null, dirty: false };
  function showFaultError(err) {
    const p = $("#fault-error");
    if (!err) { p.hidden = true; return; }
    const fields = err.body?.errors ? Object.entries(err.body.errors).map(([k, v]) => `${k}: ${v.join(", ")}`).join("; ") : "";
    p.textContent = `${err.message}${fields ? ` — ${fields}` : ""}`;
    p.hidden = false;
  }
  async function loadFaults() {
    const table = await controlJSON(`${S.prefix}/faults`);
    faults.rows = table.faults;
    faults.seed = table.seed;
    faults.dirty = false;
    $("#fault-seed").value = table.seed ?? "";
    renderFaults();
    renderStreamFaults(table.streams || {});
  }
  function renderStreamFaults(sf) {
    const parts = [];
    if (sf.cut_pending) parts.push(`${sf.cut_pending} stream(s) to cut after ${sf.cut_after_events} more event(s)`);
    if (sf.stall_remaining_s) parts.push(`stalled ${sf.stall_remaining_s} s more`);
    if (sf.refuse_remaining_s) parts.push(`refusing connections ${sf.refuse_remaining_s} s more`);
    if (sf.duplicate_on_reconnect) parts.push("duplicating the last event on reconnect");
    $("#sf-state").textContent = parts.length ? parts.join(" · ") : "no stream fault in effect";
  }
  function renderFaults() {
    const rows = Object.entries(faults.rows).map(([op, f]) => h("tr", { dataset: { op } },
      h("td", {}, h("code", {}, op)),
      h("td", {}, f.status ?? h("i", {}, "unchanged")),
      h("td", { class: "num" }, f.latency_ms ?? 0),
      h("td", { class: "num" }, f.probability ?? 1),
      h("td", {}, h("button", { type: "button", "aria-label": `Remove the fault on ${op}`, onclick: () => { delete faults.rows[op]; faults.dirty = true; renderFaults(); } }, "Remove"))));
    $("#fault-table tbody").replaceChildren(...rows);
    $("#fault-empty").hidden = rows.length > 0;
    $("#fault-state").textContent = faults.dirty ? "edited: not applied until you save" : "as on the server";
  }
  function wireFaults() {
    $("#fault-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const op = $("#fault-op").value;
      const status = $("#fault-status").value;
      const fault = { latency_ms: Number($("#fault-latency").value || 0), probability: Number($("#fault-prob").value || 1) };
      if (status) fault.status = Number(status);
      faults.rows[op] = fault;
      faults.dirty = true;
      renderFaults();
    });
    $("#fault-save").addEventListener("click", async () => {
      showFaultError(null);
      const seed = $("#fault-seed").value;
      const body = { faults: faults.rows };
      if (seed !== "") body.seed = Number(seed);
      try {
        const table = await controlJSON(`${S.prefix}/faults`, { method: "PUT", json: body });
        faults.rows = table.faults;
        faults.dirty = false;
        renderFaults();
        $("#fault-state").textContent = "saved";
      } catch (err) { showFaultError(err); }
    });
    $("#sf-form").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      showFaultError(null);
      const streams = {};
      for (const [id, key] of [["#sf-cut", "cut_after_events"], ["#sf-stall", "stall_s"], ["#sf-refuse", "refuse_s"]]) {
        if ($(id).value !== "") streams[key] = Number($(id).value);
      }
      if ($("#sf-dup").checked) streams.duplicate_on_reconnect = true;
      try {  // the operation faults as the server has them; only the streams change
        const current = await controlJSON(`${S.prefix}/faults`);
        const table = await controlJSON(`${S.prefix}/faults`, { method: "PUT", json: { seed: current.seed, faults: current.faults, streams } });
        renderStreamFaults(table.streams);
      } catch (err) { showFaultError(err); }
    });
    $("#fault-clear").addEventListener("click", async () => {
      showFaultError(null);
      try { await controlJSON(`${S.prefix}/faults`, { method: "DELETE" }); await loadFaults(); } catch (err) { showFaultError(err); }
    });
  }

  // --- views and start --------------------------------------------------------------------------
  const VIEWS = ["requests", "coverage", "world", "chat", "faults"];
  async function show(view, focusTab) {
    if (!VIEWS.includes(view)) view = "requests";
    S.view = view;
    for (const v of VIEWS) {
      $(`#view-${v}`).hidden = v !== view;
      const tab = $(`#tab-${v}`);
      tab.setAttribute("aria-selected", v === view ? "true" : "false");
      tab.tabIndex = v === view ? 0 : -1;
    }
    if (focusTab) $(`#tab-${view}`).focus();
    try {
      if (view === "coverage") await loadCoverage();
      else if (view === "world") { await loadWorlds().catch(() => {}); await renderWorld(); }
      else if (view === "chat") { if (!chat.user) { await loadWorld(); fillChatPickers(); } }
      else if (view === "faults" && !faults.dirty) await loadFaults();
    } catch (err) {
      if (err instanceof TypeError) setUp(false, "network error");
    }
  }
  function wireTabs() {
    window.addEventListener("hashchange", () => show(location.hash.slice(1)));
    $("#tabs").addEventListener("keydown", (ev) => {
      const i = VIEWS.indexOf(S.view);
      let next = null;
      if (ev.key === "ArrowRight") next = VIEWS[(i + 1) % VIEWS.length];
      else if (ev.key === "ArrowLeft") next = VIEWS[(i + VIEWS.length - 1) % VIEWS.length];
      else if (ev.key === "Home") next = VIEWS[0];
      else if (ev.key === "End") next = VIEWS[VIEWS.length - 1];
      if (next) { ev.preventDefault(); location.hash = next; $(`#tab-${next}`).focus(); }
    });
  }
  function onJournal(name, data) {
    if (name === "cleared") {
      S.entries = [];
      renderRequests();
      return;
    }
    if (name !== "request") return;
    const e = JSON.parse(data);
    addEntry(e);
    refreshCoverageSoon();
    chatWriteSeen(e);
  }
  // --- worlds: the views follow one world of the server at a time ----------------------------
  async function loadWorlds() {
    if (!S.controlPaths.has("/worlds")) return;
    const list = await controlJSON("/worlds");
    const sel = $("#world-select");
    const keep = sel.value || "default";
    sel.replaceChildren(...list.worlds.map((w) => h("option", { value: w.id }, w.id === "default" ? "default" : `${w.id} (${w.origin.source})`)));
    sel.value = list.worlds.some((w) => w.id === keep) ? keep : "default";
    $("#world-pick").hidden = list.worlds.length < 2 && keep === "default";
  }
  async function switchWorld(id) {
    // Stop following the old world first: anything it journals from now on is not shown.
    if (S.feed) { S.feed.stop(); S.feed = null; }
    S.prefix = id === "default" ? "" : `/worlds/${encodeURIComponent(id)}`;
    S.entries = [];
    S.selected = null;
    $("#req-detail").hidden = true;
    renderRequests();
    chat.user = null;
    faults.dirty = false;
    await loadWorld();
    openFeed();
    await show(S.view);
  }
  function openFeed() {
    if (S.feed) S.feed.stop();
    S.feed = sse(`/_mock${S.prefix}/requests/feed`, {
      headers: () => controlHeaders(),
      onEvent: onJournal,
      onUp: () => {
        const wasDown = $("#conn").classList.contains("down");
        setUp(true);
        if (wasDown) show(S.view);
      },
      onDown: (err) => setUp(false, err && err.message),
    });
  }

  async function start() {
    wireTabs();
    wireRequests();
    wireChat();
    wireFaults();
    $("#world-refresh").addEventListener("click", () => renderWorld());
    $("#cov-missing").addEventListener("change", () => loadCoverage());
    try {
      await Promise.all([loadWorld(), loadOperations(), loadControlPaths()]);
    } catch (err) {
      setUp(false, err.message);
    }
    S.hasStream = S.controlPaths.has("/streams");
    $("#chat-inject-row").hidden = !S.controlPaths.has("/events");
    await loadWorlds().catch(() => {});
    $("#world-select").addEventListener("focus", () => loadWorlds().catch(() => {}));
    $("#world-select").addEventListener("change", (ev) => switchWorld(ev.target.value));
    await show(location.hash.slice(1) || "requests");
    renderRequests();
    openFeed();
  }
  start();
})();
