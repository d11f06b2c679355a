/**
 * What a user may name a model, adapter or dataset by: a folder, or a Hugging Face hub id with an optional revision
 * (`org/name`, `org/name@main`, `org/name@v1.0`, `org/name@<40-hex commit>`). A folder that exists always wins, so a
 * relative path such as `models/crossmon-base` keeps meaning that folder.
 */
export type RepoType = "model" | "dataset";

export interface HubRef {
  type: RepoType;
  /** `org/name` (or a bare `name`, as the hub still serves a few) */
  id: string;
  /** branch, tag or commit; `main` when not given */
  revision: string;
}

const ID = /^(?:[A-Za-z0-9][\w.-]*\/)?[A-Za-z0-9][\w.-]*$/;
const REVISION = /^[\w.\-/]+$/;
export const COMMIT = /^[0-9a-f]{40}$/;

/** The hub id a string names, or null when it cannot be one (an absolute path, `./x`, `a/b/c`, `..`). */
export function parseHubRef(ref: string, type: RepoType = "model"): HubRef | null {
  const at = ref.indexOf("@");
  const id = at < 0 ? ref : ref.slice(0, at);
  const revision = at < 0 ? "main" : ref.slice(at + 1);
  if (!ID.test(id) || id.includes("..") || !REVISION.test(revision) || revision.includes("..")) return null;
  return { type, id, revision };
}

export function formatHubRef(r: HubRef): string {
  return r.revision === "main" ? r.id : `${r.id}@${r.revision}`;
}
