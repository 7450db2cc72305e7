// flowdock-mock inspector. Plain ES2020 modules, no dependencies, no build step: served as files
// from mock_server/inspector/assets/ at /_mock/assets/ (page.py, control/inspector.py); this one
// starts the page: tabs, the world picker, the journal feed. It reads through the control API
// (/_mock/...) and writes only when a button is pressed: Chat as posts through the Flowdock API as
// the chosen user, the Faults view PUTs the fault table, "Clear journal" empties the journal.
import { $, h } from "./dom.js";
import { controlHeaders, controlJSON, sse } from "./api.js";
import { S, loadWorld } from "./state.js";
import { renderRequests, addEntry, wireRequests } from "./requests.js";
import { refreshCoverageSoon, loadCoverage } from "./coverage.js";
import { renderWorld } from "./world.js";
import { chat, fillChatPickers, chatWriteSeen, wireChat } from "./chat.js";
import { faults, loadFaults, wireFaults } from "./faults.js";

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
