/**
 * Turns what a user named (a folder or a hub id) into a folder on this machine, from the Hugging Face cache and never
 * from the network: a model in the cache is used as it is; one that is missing, or only partly downloaded, is a
 * one-line error naming the command that fixes it.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { InputError } from "../core/errors.js";
import { cachedCommit, cachedSnapshot, hubCacheDir, hubOffline, repoFolder } from "./cache.js";
import { formatHubRef, type HubRef, parseHubRef } from "./reference.js";

export type ModelKind = "model" | "adapter";

/** The folder a model or adapter reference names. Folders are returned as they are; hub ids are looked up. */
export function resolveModelDir(ref: string, kind: ModelKind = "model"): string {
  if (existsSync(ref)) {
    if (!statSync(ref).isDirectory()) throw new InputError(`not a folder (a ${kind} is a folder or a hub id)`, ref);
    return ref;
  }
  const hub = parseHubRef(ref);
  if (!hub) throw new InputError(`no such ${kind} folder`, ref);
  const dir = cachedSnapshot(hub);
  if (!dir) throw new InputError(notCached(hub, kind));
  const missing = missingFiles(dir, kind);
  if (missing.length) {
    throw new InputError(
      `${formatHubRef(hub)}: partial download in the Hugging Face cache (${dir}), missing ${missing.join(", ")}: ` +
        `run \`${pullCommand(hub)}\` to finish it`,
    );
  }
  return dir;
}

/** The files a model or adapter folder lacks before it can be loaded (weights named by an index included). */
export function missingFiles(dir: string, kind: ModelKind): string[] {
  const has = (f: string) => existsSync(join(dir, f)); // false for a link whose blob is not there (yet)
  if (kind === "adapter") return ["adapter_config.json", "adapter_model.safetensors"].filter((f) => !has(f));
  const missing = has("config.json") ? [] : ["config.json"];
  const index = "model.safetensors.index.json";
  if (has(index)) {
    let shards: string[] = [];
    try {
      const map = (JSON.parse(readFileSync(join(dir, index), "utf8")) as { weight_map?: Record<string, string> })
        .weight_map;
      shards = [...new Set(Object.values(map ?? {}))].sort();
    } catch {
      return [...missing, `a readable ${index}`];
    }
    return [...missing, ...shards.filter((f) => !has(f))];
  }
  if (!readdirSync(dir).some((f) => f.endsWith(".safetensors") && has(f))) missing.push("model.safetensors");
  return missing;
}

export function pullCommand(hub: HubRef, kind: "model" | "adapter" | "dataset" = "model"): string {
  const rev = hub.revision === "main" ? "" : ` --revision ${hub.revision}`;
  return `crossmon pull ${hub.id}${rev}${kind === "dataset" ? " --dataset" : ""}`;
}

function notCached(hub: HubRef, kind: string): string {
  const cache = hubCacheDir();
  const offline = hubOffline() ? "; HF_HUB_OFFLINE is set, so pull it where the hub can be reached" : "";
  if (existsSync(repoFolder(hub, cache)) && !cachedCommit(hub, cache)) {
    return (
      `${hub.id}: revision "${hub.revision}" is not in the Hugging Face cache (${cache}; it has ` +
      `${cachedRevisions(hub, cache).join(", ") || "no complete revision"}): run \`${pullCommand(hub)}\`${offline}`
    );
  }
  return (
    `${formatHubRef(hub)}: no such ${kind} folder, and not in the Hugging Face cache (${cache}): ` +
    `run \`${pullCommand(hub)}\` if it is a hub id${offline}`
  );
}

function cachedRevisions(hub: HubRef, cache: string): string[] {
  const refs = join(repoFolder(hub, cache), "refs");
  const names = existsSync(refs) ? readdirSync(refs) : [];
  const snaps = join(repoFolder(hub, cache), "snapshots");
  const shas = existsSync(snaps) ? readdirSync(snaps).map((s) => s.slice(0, 12)) : [];
  return [...names, ...shas];
}
