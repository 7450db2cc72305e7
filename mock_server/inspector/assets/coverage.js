// The Coverage view: calls, statuses and violations per operation of the Flowdock contract.
import { $, h, statusClass } from "./dom.js";
import { controlJSON } from "./api.js";
import { S } from "./state.js";

let coverageTimer = null;
export function refreshCoverageSoon() {
  if (S.view !== "coverage" || coverageTimer) return;
  coverageTimer = setTimeout(() => { coverageTimer = null; loadCoverage(); }, 250);
}
export async function loadCoverage() {
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
