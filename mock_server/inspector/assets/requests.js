// The Requests view: the journal, live, with filters and each entry's details (a violation shown
// with the JSON pointer of the schema it broke in /openapi.json).
import { $, h, fill, pretty, clock, statusClass } from "./dom.js";
import { OWN_HEADER, controlJSON } from "./api.js";
import { S, userName, worldLoaded } from "./state.js";

const MAX_ROWS = 2000;

function fillUserFilter() {
  const sel = $("#f-user");
  const keep = sel.value;
  sel.replaceChildren(h("option", { value: "" }, "anyone"), h("option", { value: "none" }, "no user"),
    ...[...S.users.values()].map((u) => h("option", { value: String(u.id) }, `${u.nick} (#${u.id})`)));
  sel.value = keep;
}
worldLoaded.push(fillUserFilter);
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
export function renderRequests() {
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
export function addEntry(e) {
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
export function wireRequests() {
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
