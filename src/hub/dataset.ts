/**
 * Hugging Face datasets named as `hf://datasets/ORG/NAME[@REVISION][/PATH]`, the form huggingface_hub's file system
 * reads (a revision holding a slash is URL-encoded: `@refs%2Fconvert%2Fparquet`). PATH is a config's folder or a file
 * in the repository (`plain_text`, `data/train-00000-of-00001.parquet`). Found in the Hugging Face cache only, as
 * models are: one that is not there is an error naming `crossmon pull ID --dataset`.
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { InputError } from "../core/errors.js";
import { cachedSnapshot, hubCacheDir } from "./cache.js";
import { formatHubRef, type HubRef, parseHubRef } from "./reference.js";
import { pullCommand } from "./resolve.js";

export const DATASET_SCHEME = "hf://datasets/";

export interface DatasetUri {
  ref: HubRef;
  /** a path inside the repository ("" for its root) */
  path: string;
}

export function isDatasetUri(s: string): boolean {
  return s.startsWith(DATASET_SCHEME);
}

/** The parts of an `hf://datasets/...` name, or an error saying what is wrong with it. */
export function parseDatasetUri(uri: string): DatasetUri {
  const bad = (why: string) =>
    new InputError(
      `${why}; expected hf://datasets/ORG/NAME[@REVISION][/CONFIG] (e.g. hf://datasets/stanfordnlp/imdb)`,
      uri,
    );
  if (!isDatasetUri(uri)) throw bad("not a dataset name");
  const parts = uri.slice(DATASET_SCHEME.length).split("/");
  if (parts.length < 2 || !parts[0] || !parts[1]) throw bad("the dataset needs an organisation and a name");
  const [org, nameRev, ...rest] = parts;
  const at = nameRev.indexOf("@");
  const name = at < 0 ? nameRev : nameRev.slice(0, at);
  let revision = "main";
  if (at >= 0) {
    try {
      revision = decodeURIComponent(nameRev.slice(at + 1));
    } catch {
      throw bad("the revision is not valid URL encoding");
    }
  }
  const ref = parseHubRef(`${org}/${name}@${revision}`, "dataset");
  if (!ref) throw bad("not a valid dataset id or revision");
  const path = rest.filter((p) => p !== "").join("/");
  if (path.split("/").includes("..")) throw bad("the path may not climb out of the dataset");
  return { ref, path };
}

/** The local path (a folder or a file inside the cached snapshot) an `hf://datasets/...` name stands for. */
export function resolveDatasetPath(uri: string): string {
  const { ref, path } = parseDatasetUri(uri);
  const snapshot = cachedSnapshot(ref);
  if (!snapshot)
    throw new InputError(
      `${formatHubRef(ref)}: dataset not in the Hugging Face cache (${hubCacheDir()}): ` +
        `run \`${pullCommand(ref, "dataset")}\``,
      uri,
    );
  const local = path ? join(snapshot, path) : snapshot;
  if (!existsSync(local)) {
    const top = readdirSync(snapshot).filter((f) => !f.startsWith("."));
    throw new InputError(`no "${path}" in the dataset (it holds ${top.join(", ") || "nothing"})`, uri);
  }
  return local;
}
