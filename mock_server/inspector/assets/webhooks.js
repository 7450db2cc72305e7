// The World view's outgoing webhooks (GET /_mock/webhooks), when this server has them.
import { h } from "./dom.js";
import { S, flowPath } from "./state.js";

export function webhooksTable(hooks) {
  if (!hooks.length) return h("p", { class: "muted" }, "No webhook is registered (POST /_mock/webhooks).");
  const flowName = (id) => (S.flows.has(id) ? flowPath(S.flows.get(id)) : id);
  const all = (list, name = (x) => x) => (list.length ? list.map(name).join(", ") : h("i", {}, "all"));
  return h("div", { class: "scroll" }, h("table", { class: "grid", id: "world-webhooks" },
    h("thead", {}, h("tr", {}, ["#", "URL", "flows", "events", "registered"].map((t) => h("th", {}, t)))),
    h("tbody", {}, hooks.map((w) => h("tr", {},
      h("td", { class: "num" }, w.id), h("td", {}, h("code", {}, w.url)), h("td", {}, all(w.flows, flowName)),
      h("td", {}, all(w.events)), h("td", {}, w.created_at))))));
}
