// The World view: users with credentials to copy, organizations, flows with their threads and
// messages, private conversations, open streams, the clock and the webhooks.
import { $, h, fill, pretty, clock, msTime, copyButton } from "./dom.js";
import { controlJSON } from "./api.js";
import { S, userName, flowLabel, loadWorld } from "./state.js";
import { messageText, author } from "./messages.js";
import { webhooksTable } from "./webhooks.js";

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
export async function renderWorld() {
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
