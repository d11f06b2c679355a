/**
 * `crossmon pull`: a model, adapter or dataset from the hub into the Hugging Face cache, through @huggingface/hub
 * (its info, tree and resolve routes; HF_ENDPOINT and HF_TOKEN honoured, the token never written or printed).
 * crossmon writes the cache itself, in huggingface_hub's layout, because the library's own cache download neither
 * resumes nor checks what it got: here a file goes to blobs/<etag>.incomplete, resumes from there after a kill
 * (an HTTP range), is checked against its size and hash (sha256 for LFS files, git's blob sha1 for the others), and
 * only then becomes blobs/<etag> with its snapshot link. The branch's ref is written last, so a pull that stopped
 * half way never looks complete.
 */
import { createHash, type Hash } from "node:crypto";
import { createReadStream, createWriteStream, existsSync, mkdirSync, renameSync, rmSync, statSync } from "node:fs";
import { readlink, symlink, unlink, writeFile } from "node:fs/promises";
import { dirname, join, relative, resolve, sep } from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { datasetInfo, downloadFile, type ListFileEntry, listFiles, modelInfo } from "@huggingface/hub";
import { minimatch } from "minimatch";
import { InputError } from "../core/errors.js";
import { Progress } from "../core/progress.js";
import { cachedSnapshot, hubCacheDir, hubEndpoint, hubOffline, repoFolder } from "./cache.js";
import { COMMIT, formatHubRef, type HubRef } from "./reference.js";
import { missingFiles } from "./resolve.js";

/** What a model needs (config, weights, tokenizer, chat template, adapters), not other formats' weights. */
export const DEFAULT_MODEL_FILES = ["*.json", "*.safetensors", "*.jinja", "*.txt", "*.model", "README.md"];
export const DEFAULT_DATASET_FILES = ["*.parquet", "*.jsonl", "*.json", "*.csv", "README.md"];

export interface PullOptions {
  /** globs over the repository's paths (a `*` crosses folders, as huggingface_hub's allow_patterns) */
  include?: string[];
  quiet?: boolean;
  cacheDir?: string;
  log?: (line: string) => void;
}

export interface PullResult {
  snapshot: string;
  commit: string;
  files: number;
  downloaded: number;
  bytes: number;
}

export async function pull(ref: HubRef, o: PullOptions = {}): Promise<PullResult> {
  const cacheDir = o.cacheDir ?? hubCacheDir();
  const log = o.log ?? ((s: string) => process.stderr.write(`${s}\n`));
  const name = formatHubRef(ref);
  if (hubOffline()) {
    const dir = cachedSnapshot(ref, cacheDir);
    const whole = (kind: "model" | "adapter") => dir !== null && missingFiles(dir, kind).length === 0;
    if (dir && (ref.type === "dataset" || whole("model") || whole("adapter"))) {
      return { snapshot: dir, commit: dir.split("/").pop() ?? "", files: 0, downloaded: 0, bytes: 0 };
    }
    throw new InputError(`${name}: HF_HUB_OFFLINE is set and the cache (${cacheDir}) does not hold it whole`);
  }
  const params = { hubUrl: hubEndpoint(), ...(process.env.HF_TOKEN ? { accessToken: process.env.HF_TOKEN } : {}) };
  const repo = { type: ref.type, name: ref.id };
  const commit = await hubCall(ref, () => repoCommit(ref, params));
  const globs = o.include?.length ? o.include : ref.type === "dataset" ? DEFAULT_DATASET_FILES : DEFAULT_MODEL_FILES;
  const entries: ListFileEntry[] = [];
  await hubCall(ref, async () => {
    for await (const e of listFiles({ ...params, repo, revision: commit, recursive: true })) {
      if (e.type === "file" && globs.some((g) => minimatch(e.path, g, { matchBase: !g.includes("/"), dot: true }))) {
        entries.push(e);
      }
    }
  });
  if (entries.length === 0) throw new InputError(`${name}: no file of the repository matches ${globs.join(", ")}`);
  // every listed path and hash checked before anything is written: a hostile listing writes nothing
  const storage = repoFolder(ref, cacheDir);
  const snapshot = join(storage, "snapshots", commit);
  const places = new Map(entries.map((e) => [e, { pointer: insideSnapshot(snapshot, e.path, name), etag: etagOf(e) }]));
  // configs last: a folder with its config.json in place is one whose weights already are
  const last = (p: string) => (/(^|\/)(adapter_)?config\.json$/.test(p) ? 1 : 0);
  entries.sort((a, b) => last(a.path) - last(b.path) || a.path.localeCompare(b.path));

  const total = entries.reduce((s, e) => s + fileSize(e), 0);
  const progress = new Progress(`pull ${name}`, total, { quiet: o.quiet, intervalMs: 250 });
  let done = 0;
  let downloaded = 0;
  for (const e of entries) {
    const { pointer, etag } = places.get(e)!;
    const blob = join(storage, "blobs", etag);
    if (!existsSync(pointer) || !existsSync(blob)) {
      if (!existsSync(blob)) {
        await hubCall(ref, () =>
          fetchBlob(ref, e, commit, blob, params, (n) => progress.update(done + n, { MB: (done + n) / 2 ** 20 })),
        );
        downloaded++;
      }
      await link(blob, pointer);
    }
    done += fileSize(e);
    progress.update(done, { MB: done / 2 ** 20 });
  }
  if (ref.revision !== commit) {
    mkdirSync(join(storage, "refs", dirname(ref.revision)), { recursive: true });
    await writeFile(join(storage, "refs", ref.revision), commit);
  }
  log(`${name}: ${entries.length} file(s) at ${commit.slice(0, 12)}, ${downloaded} downloaded, in ${snapshot}`);
  return { snapshot, commit, files: entries.length, downloaded, bytes: total };
}

type Params = { hubUrl: string; accessToken?: string };

async function repoCommit(ref: HubRef, params: Params): Promise<string> {
  const info =
    ref.type === "dataset"
      ? await datasetInfo({ ...params, name: ref.id, revision: ref.revision, additionalFields: ["sha"] })
      : await modelInfo({ ...params, name: ref.id, revision: ref.revision, additionalFields: ["sha"] });
  const sha = (info as { sha?: string }).sha;
  if (!sha || !COMMIT.test(sha)) throw new Error(`the hub gave no commit for revision "${ref.revision}"`);
  return sha;
}

/**
 * A path from the hub's listing as a file inside the snapshot, or an error: relative, in "/"-separated segments none
 * of which is empty, "." or "..", no backslash or NUL, and inside the snapshot once resolved (as huggingface_hub
 * checks). A listing is the hub's word, and a hub can be hostile.
 */
export function insideSnapshot(snapshot: string, listed: string, name: string): string {
  const segments = listed.split("/");
  const root = resolve(snapshot);
  const full = resolve(root, ...segments);
  if (
    listed === "" ||
    /[\\\0]/.test(listed) ||
    segments.some((x) => x === "" || x === "." || x === "..") ||
    !full.startsWith(root + sep)
  )
    throw new InputError(
      `${name}: the hub lists a file at ${JSON.stringify(listed)}, which is not a path inside the repository: ` +
        "refused, nothing written",
    );
  return full;
}

/** The blob's name in the cache: the LFS sha256, or git's object id for a file kept in git (hex, nothing else). */
function etagOf(e: ListFileEntry): string {
  const etag = e.lfs?.oid ?? e.oid;
  if (!etag) throw new Error(`${e.path}: the hub's listing gives no hash for it`);
  if (!/^([0-9a-f]{40}|[0-9a-f]{64})$/.test(etag))
    throw new InputError(`${e.path}: the hub's listing gives ${JSON.stringify(etag.slice(0, 80))} as its hash`);
  return etag;
}

function fileSize(e: ListFileEntry): number {
  return e.lfs?.size ?? e.size;
}

/** Downloads one file into blobs/<etag>, resuming a .incomplete left by an earlier try, and checks it. */
async function fetchBlob(
  ref: HubRef,
  e: ListFileEntry,
  commit: string,
  blob: string,
  params: Params,
  onBytes: (n: number) => void,
): Promise<void> {
  mkdirSync(dirname(blob), { recursive: true });
  const partial = `${blob}.incomplete`;
  const size = fileSize(e);
  let have = existsSync(partial) ? statSync(partial).size : 0;
  if (have > size) {
    rmSync(partial);
    have = 0;
  }
  const hash = e.lfs ? createHash("sha256") : gitBlobHash(size);
  if (have > 0) await pipeline(createReadStream(partial), hashInto(hash));
  if (have < size) {
    const file = await downloadFile({
      ...params,
      repo: { type: ref.type, name: ref.id },
      path: e.path,
      revision: commit,
    });
    if (!file) throw new InputError(`${formatHubRef(ref)}: ${e.path} is listed but the hub has no such file`);
    if (file.size !== size) throw new Error(`${e.path}: the hub says ${file.size} bytes, its listing ${size}`);
    let got = have;
    const count = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        got += chunk.length;
        hash.update(chunk);
        onBytes(got);
        cb(null, chunk);
      },
    });
    const body = Readable.fromWeb(file.slice(have).stream() as Parameters<typeof Readable.fromWeb>[0]);
    await pipeline(body, count, createWriteStream(partial, { flags: have > 0 ? "a" : "w" }));
  }
  const got = existsSync(partial) ? statSync(partial).size : 0;
  const want = etagOf(e);
  const digest = hash.digest("hex");
  if (got !== size || digest !== want) {
    rmSync(partial, { force: true });
    throw new Error(
      got !== size
        ? `${e.path}: got ${got} bytes, expected ${size} (the partial file was removed; pull again)`
        : `${e.path}: content hash ${digest.slice(0, 12)} differs from the hub's ${want.slice(0, 12)} (removed; ` +
            `pull again)`,
    );
  }
  renameSync(partial, blob);
}

/** git's object id of a file: sha1 over "blob <size>\0" and the content. */
function gitBlobHash(size: number): Hash {
  return createHash("sha1").update(`blob ${size}\0`);
}

function hashInto(hash: Hash): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      cb();
    },
  });
}

/** A relative link from the snapshot to the blob, as huggingface_hub makes it. */
async function link(blob: string, pointer: string): Promise<void> {
  mkdirSync(dirname(pointer), { recursive: true });
  const target = relative(dirname(pointer), blob);
  const current = await readlink(pointer).catch(() => null);
  if (current === target) return;
  if (current !== null || existsSync(pointer)) await unlink(pointer);
  await symlink(target, pointer);
}

/** The hub's answers as errors a user can act on (the token is never part of them). */
async function hubCall<T>(ref: HubRef, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof InputError) throw e;
    const status = (e as { statusCode?: number }).statusCode;
    const name = formatHubRef(ref);
    const what = ref.type === "dataset" ? "dataset" : "model";
    if (status === 401 || status === 403) {
      throw new InputError(
        process.env.HF_TOKEN
          ? `${name}: the hub refused the token in HF_TOKEN (${status}): ask for access to this gated or private ` +
              `${what}`
          : `${name}: gated or private ${what} (${status}): set HF_TOKEN to a token with access, then run the pull ` +
              `again`,
      );
    }
    if (status === 404) {
      throw new InputError(`${name}: no such ${what}, or no revision "${ref.revision}", on ${hubEndpoint()}`);
    }
    const msg = (e as Error).message ?? String(e);
    const cause = (e as { cause?: { code?: string } }).cause?.code;
    throw new Error(`${name}: ${cause ? `${cause} reaching ${hubEndpoint()}` : msg}`);
  }
}
