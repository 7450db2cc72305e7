// The Chat as view: post, comment, reply and retag as any user through the Flowdock API, and watch
// the flow live from the Streaming API (or, without one, re-read it when the journal shows a write).
import { $, h, msTime } from "./dom.js";
import { OWN_HEADER, asUser, controlJSON, sse } from "./api.js";
import { S, flowLabel, flowPath } from "./state.js";
import { messageText, author } from "./messages.js";

export const chat = { user: null, where: null, messages: new Map(), selected: null, stream: null, refresh: null };
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
export function fillChatPickers() {
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
// Every Flowdock message opens its own thread; a reply is one that is not its thread's first.
const isReply = (m) => !!m.thread_id && !!m.thread && String(m.thread.initial_message) !== String(m.id);
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
export function chatWriteSeen(e) {
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
export function wireChat() {
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
