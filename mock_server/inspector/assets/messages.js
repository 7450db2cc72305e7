// How a Flowdock message reads in the World and Chat as views: its text and its author.
import { pretty } from "./dom.js";
import { userName } from "./state.js";

export function messageText(m) {
  const c = m.content;
  if (typeof c === "string") return c;
  if (m.event === "comment") return c?.text ?? "";
  if (m.event === "file") return `file: ${c?.file_name ?? ""}`;
  if (m.event === "action") return `${c?.type ?? "action"}${c?.description ? `: ${c.description}` : ""}`;
  if (m.event === "activity" || m.event === "discussion") return m.thread?.title ?? c?.title ?? "";
  if (c === null || c === undefined) return "";
  return c.text ?? c.title ?? pretty(c);
}
export const author = (m) => (String(m.user) === "0" ? m.author?.name || m.app || "integration" : userName(m.user));
