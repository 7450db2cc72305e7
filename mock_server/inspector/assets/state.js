// What every view shares: the world document of the world shown, and names and URL paths built
// from it (each name one encoded path segment).
import { controlJSON } from "./api.js";

export const S = {
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
export const userName = (id) => {
  const u = S.users.get(Number(id));
  return u ? u.nick : id === null || id === undefined ? "" : `#${id}`;
};
export const flowLabel = (f) => `${S.orgs.get(f.organization_id)?.parameterized_name}/${f.parameterized_name}`;
// In a URL: each name one encoded path segment, whatever the world document holds.
export const flowPath = (f) => `${encodeURIComponent(S.orgs.get(f.organization_id)?.parameterized_name)}/${encodeURIComponent(f.parameterized_name)}`;

// Called after each loadWorld (the Requests view's user filter).
export const worldLoaded = [];
export async function loadWorld() {
  S.world = await controlJSON(`${S.prefix}/state`);
  S.users = new Map(S.world.users.map((u) => [u.id, u]));
  S.orgs = new Map(S.world.organizations.map((o) => [o.id, o]));
  S.flows = new Map(S.world.flows.map((f) => [f.id, f]));
  for (const listener of worldLoaded) listener();
}
