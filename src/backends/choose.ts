/** The backend a command runs on, by name: the in-process engine (default) or the PyTorch worker. */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { InputError } from "../core/errors.js";
import { resolveModelDir } from "../hub/resolve.js";
import { HfTokenizer } from "../engine/io/tokenizer.js";
import { LocalBackend } from "./local.js";
import type { Backend } from "./types.js";
import { WorkerBackend, workerAvailable } from "./worker.js";

export const BACKEND_KINDS = ["local", "worker"] as const;

/** A backend, and how to release it (the worker is a child process that must be told to exit). */
export function chooseBackend(kind: string, baseModel: string): { backend: Backend; close: () => void } {
  if (kind === "local") return { backend: new LocalBackend(), close: () => {} };
  if (kind === "worker") {
    const avail = workerAvailable();
    if (!avail.ok)
      throw new InputError(
        `--backend worker: ${avail.reason}; set CROSSMON_PYTHON to a Python with them (python/requirements-worker.txt)`,
      );
    const tok = hasTokenizer(baseModel) ? HfTokenizer.load(baseModel) : null;
    const w = new WorkerBackend(undefined, tok ? (ids) => tok.decode(ids, true) : undefined);
    return { backend: w, close: () => w.close() };
  }
  throw new InputError(`--backend: "${kind}" is not a backend (${BACKEND_KINDS.join(", ")})`);
}

function hasTokenizer(ref: string): boolean {
  try {
    return existsSync(join(resolveModelDir(ref), "tokenizer.json"));
  } catch {
    return false;
  }
}
