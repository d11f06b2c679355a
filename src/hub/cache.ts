/**
 * The Hugging Face cache exactly as huggingface_hub lays it out, so a model that transformers downloaded is found here
 * and one crossmon pulls is found by transformers:
 *
 *   $HF_HUB_CACHE (or $HF_HOME/hub, or ~/.cache/huggingface/hub)
 *     models--org--name/                 (datasets--org--name/ for datasets)
 *       refs/main                        a file holding the commit a branch or tag points at
 *       blobs/<etag>                     file contents, named by their git or LFS (sha256) hash
 *       snapshots/<commit>/<path>        symlinks into blobs/
 */
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { COMMIT, type HubRef, type RepoType } from "./reference.js";

export function hubCacheDir(): string {
  if (process.env.HF_HUB_CACHE) return process.env.HF_HUB_CACHE;
  const home = process.env.HF_HOME ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "huggingface");
  return join(home, "hub");
}

/** `models--org--name`, as huggingface_hub names a repository's folder. */
export function repoFolderName(type: RepoType, id: string): string {
  return [`${type}s`, ...id.split("/")].join("--");
}

export function repoFolder(ref: { type: RepoType; id: string }, cacheDir = hubCacheDir()): string {
  return join(cacheDir, repoFolderName(ref.type, ref.id));
}

/** The commit a revision points at in the cache (a commit names itself), or null when the cache does not know it. */
export function cachedCommit(ref: HubRef, cacheDir = hubCacheDir()): string | null {
  if (COMMIT.test(ref.revision)) return ref.revision;
  const file = join(repoFolder(ref, cacheDir), "refs", ref.revision);
  if (!existsSync(file)) return null;
  const sha = readFileSync(file, "utf8").trim();
  return COMMIT.test(sha) ? sha : null;
}

/** The snapshot folder of a revision, or null when the cache has none. */
export function cachedSnapshot(ref: HubRef, cacheDir = hubCacheDir()): string | null {
  const sha = cachedCommit(ref, cacheDir);
  if (!sha) return null;
  const dir = join(repoFolder(ref, cacheDir), "snapshots", sha);
  return existsSync(dir) ? dir : null;
}

/** HF_HUB_OFFLINE=1 (or true/yes/on), as huggingface_hub reads it. */
export function hubOffline(): boolean {
  return ["1", "true", "yes", "on"].includes((process.env.HF_HUB_OFFLINE ?? "").toLowerCase());
}

export function hubEndpoint(): string {
  return (process.env.HF_ENDPOINT ?? "https://huggingface.co").replace(/\/+$/, "");
}
