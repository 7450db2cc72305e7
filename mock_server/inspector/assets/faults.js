// The Faults view: the fault table as edited (saved with one PUT) and the stream faults.
import { $, h } from "./dom.js";
import { controlJSON } from "./api.js";
import { S } from "./state.js";

export const faults = { rows: {}, seed: null, dirty: false };
function showFaultError(err) {
  const p = $("#fault-error");
  if (!err) { p.hidden = true; return; }
  const fields = err.body?.errors ? Object.entries(err.body.errors).map(([k, v]) => `${k}: ${v.join(", ")}`).join("; ") : "";
  p.textContent = `${err.message}${fields ? ` — ${fields}` : ""}`;
  p.hidden = false;
}
export async function loadFaults() {
  const table = await controlJSON(`${S.prefix}/faults`);
  faults.seed = table.seed;
  if (faults.dirty) {
    // Edited while the table was on its way: the edits stay, on top of the server's table.
    faults.rows = { ...table.faults, ...faults.rows };
  } else {
    faults.rows = table.faults;
    $("#fault-seed").value = table.seed ?? "";
  }
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
export function wireFaults() {
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
    try {
      await controlJSON(`${S.prefix}/faults`, { method: "DELETE" });
      faults.dirty = false;  // cleared: what was edited and not saved goes too
      await loadFaults();
    } catch (err) { showFaultError(err); }
  });
}
