/**
 * A loopback stand-in for the Hugging Face hub: it answers the routes @huggingface/hub and huggingface_hub use for a
 * download (repo info, tree listing, resolve with ranges and HEAD) from folders on disk, one commit per repository.
 * Files ending in .safetensors are served as LFS files (etag = sha256), the rest as git files (etag = git blob sha1).
 * Faults on request: a gated repository, a connection cut part way through a file, a corrupted body.
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join, relative } from "node:path";

export interface FakeRepo {
  type: "model" | "dataset";
  id: string;
  dir: string;
  /** branch or tag names that point at the repository's one commit */
  refs?: string[];
  /** answers 401 unless the request carries `Authorization: Bearer <token>` */
  token?: string;
  /** files listed (and served) at these paths besides the folder's: a hostile hub's listing */
  extra?: { path: string; body: Buffer; etag?: string }[];
}

interface FileEntry {
  /** listed by a hostile hub (FakeRepo.extra) */
  hostile: boolean;
  path: string;
  body: Buffer;
  lfs: boolean;
  etag: string;
}

export interface Logged {
  method: string;
  url: string;
  range: string | null;
  auth: string | null;
}

export class FakeHub {
  readonly log: Logged[] = [];
  /** the next GET of this path's bytes stops after this many bytes (then the socket is destroyed), once */
  cut: { path: string; bytes: number } | null = null;
  /** every GET of this path's bytes serves this instead */
  corrupt: { path: string; body: Buffer } | null = null;
  private server: Server;
  private repos: { repo: FakeRepo; commit: string; files: FileEntry[] }[];

  constructor(repos: FakeRepo[]) {
    this.repos = repos.map((repo) => {
      const listed = [
        ...walk(repo.dir).map((f) => ({ path: relative(repo.dir, f), body: readFileSync(f), etag: undefined })),
        ...(repo.extra ?? []),
      ];
      const files = listed.map(({ path, body, etag: forced }) => {
        const lfs = path.endsWith(".safetensors") || path.endsWith(".parquet");
        const etag = lfs
          ? createHash("sha256").update(body).digest("hex")
          : createHash("sha1").update(`blob ${body.length}\0`).update(body).digest("hex");
        return {
          path,
          body,
          lfs,
          etag: forced ?? etag,
          hostile: forced !== undefined || !!repo.extra?.some((x) => x.path === path),
        };
      });
      const commit = createHash("sha1")
        .update(repo.id + files.map((f) => f.path + f.etag).join())
        .digest("hex");
      return { repo, commit, files };
    });
    this.server = createServer((req, res) => this.handle(req, res));
  }

  commit(id: string): string {
    const r = this.repos.find((x) => x.repo.id === id);
    if (!r) throw new Error(id);
    return r.commit;
  }

  async start(): Promise<string> {
    await new Promise<void>((ok) => this.server.listen(0, "127.0.0.1", ok));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((ok) => this.server.close(() => ok()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? "/", "http://x");
    this.log.push({
      method: req.method ?? "",
      url: url.pathname,
      range: (req.headers.range as string) ?? null,
      auth: (req.headers.authorization as string) ?? null,
    });
    const path = decodeURIComponent(url.pathname);
    const api = /^\/api\/(models|datasets)\/(.+?)\/(revision|tree)\/([^/]+)(?:\/(.*))?$/.exec(path);
    const resolve = /^\/(datasets\/)?(.+?)\/resolve\/([^/]+)\/(.+)$/.exec(path);
    const found = api
      ? this.find(api[1] === "models" ? "model" : "dataset", api[2], api[4])
      : resolve
        ? this.find(resolve[1] ? "dataset" : "model", resolve[2], resolve[3])
        : null;
    if (!found) {
      res.writeHead(404, { "content-type": "application/json", "x-error-code": "RepoNotFound" });
      res.end(JSON.stringify({ error: "Repository not found" }));
      return;
    }
    const { repo, commit, files } = found;
    if (repo.token && req.headers.authorization !== `Bearer ${repo.token}`) {
      res.writeHead(401, { "content-type": "application/json", "x-error-code": "GatedRepo" });
      res.end(JSON.stringify({ error: "Access to this model is restricted. You must be authenticated." }));
      return;
    }
    if (api?.[3] === "revision") {
      json(res, {
        _id: `id-${repo.id}`,
        id: repo.id,
        sha: commit,
        private: false,
        gated: false,
        siblings: files.map((f) => ({ rfilename: f.path })),
      });
      return;
    }
    if (api) {
      json(
        res,
        files.map((f) => ({
          type: "file",
          path: f.path,
          size: f.lfs ? 135 : f.body.length,
          oid: f.lfs ? createHash("sha1").update(`pointer ${f.path}`).digest("hex") : f.etag,
          ...(f.lfs ? { lfs: { oid: f.etag, size: f.body.length, pointerSize: 135 } } : {}),
        })),
      );
      return;
    }
    // a hostile listing's files are served whatever the client made of their paths (a URL normalises "..")
    const asked = resolve?.[4] ?? "";
    const file =
      files.find((f) => f.path === asked) ??
      files.find((f) => f.hostile && f.path.split(/[\\/]/).pop() === asked.split("/").pop());
    if (!file) {
      res.writeHead(404, { "x-error-code": "EntryNotFound" });
      res.end();
      return;
    }
    this.sendFile(req, res, commit, file);
  }

  private find(type: string, id: string, rev: string) {
    return this.repos.find(
      (r) =>
        r.repo.type === type && r.repo.id === id && (rev === r.commit || rev === "main" || r.repo.refs?.includes(rev)),
    );
  }

  private sendFile(req: IncomingMessage, res: ServerResponse, commit: string, file: FileEntry): void {
    const body = this.corrupt?.path === file.path ? this.corrupt.body : file.body;
    const headers: Record<string, string> = {
      "x-repo-commit": commit,
      etag: `"${file.etag}"`,
      "accept-ranges": "bytes",
      "content-type": "application/octet-stream",
    };
    if (file.lfs) {
      headers["x-linked-etag"] = `"${file.etag}"`;
      headers["x-linked-size"] = String(file.body.length);
    }
    const m = /^bytes=(\d+)-(\d*)$/.exec((req.headers.range as string) ?? "");
    let start = 0;
    let end = body.length - 1;
    if (m) {
      start = Number(m[1]);
      end = m[2] ? Math.min(Number(m[2]), body.length - 1) : body.length - 1;
      headers["content-range"] = `bytes ${start}-${end}/${body.length}`;
    }
    const slice = body.subarray(start, end + 1);
    headers["content-length"] = String(slice.length);
    res.writeHead(m ? 206 : 200, headers);
    if (req.method === "HEAD") {
      res.end();
      return;
    }
    if (this.cut && this.cut.path === file.path && slice.length > 1) {
      const n = this.cut.bytes;
      this.cut = null;
      res.write(slice.subarray(0, n), () => setTimeout(() => res.destroy(), 20));
      return;
    }
    res.end(slice);
  }
}

function json(res: ServerResponse, v: unknown): void {
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify(v));
}

function walk(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((n) => (statSync(join(dir, n)).isDirectory() ? walk(join(dir, n)) : [join(dir, n)]));
}
