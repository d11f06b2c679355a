/**
 * `crossmon view`: a local web app over run folders. A JSON API under /api/ (what the page uses, and what a script may
 * use), the page and its scripts (src/view/assets), and the few libraries it runs on (Preact, htm, vega, vega-lite,
 * vega-embed) served from node_modules: nothing comes from the network. Bound to 127.0.0.1 unless told otherwise.
 * Everything a run shows was written by monitored agents: the page renders it as text, and the Content-Security-Policy
 * lets no script run but crossmon's own.
 */
import { existsSync, readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { hostAllowed, hostRefusal } from "../core/host-check.js";
import { runProgress } from "../experiments/open.js";
import { BadRequest, compare, examplesOf, exampleDetail, NotFound } from "./examples.js";
import { analysisOf, evalSummaries, type RunEntry, type RunRegistry } from "./runs.js";

const HERE = dirname(fileURLToPath(import.meta.url));

/** The folder of crossmon's own sources (src/view/assets), from src/ under tsx or from dist/ once built. */
function assetsDir(): string {
  for (let d = HERE; d !== dirname(d); d = dirname(d)) {
    const p = join(d, "src", "view", "assets");
    if (existsSync(join(p, "index.html"))) return p;
  }
  throw new Error("crossmon's viewer assets (src/view/assets) are missing from the installation");
}

/** A file of an installed package, found through Node's resolution (wherever npm put the package). */
function packageFile(pkg: string, file: string): string {
  const require = createRequire(import.meta.url);
  let d = dirname(require.resolve(pkg));
  const named = (dir: string) =>
    existsSync(join(dir, "package.json")) &&
    (JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name?: string }).name === pkg;
  while (!named(d) && d !== dirname(d)) d = dirname(d);
  return join(d, file);
}

const VENDOR: Record<string, [string, string]> = {
  "preact.mjs": ["preact", "dist/preact.mjs"],
  "hooks.mjs": ["preact", "hooks/dist/hooks.mjs"],
  "htm.mjs": ["htm", "dist/htm.mjs"],
  "vega.min.js": ["vega", "build/vega.min.js"],
  "vega-lite.min.js": ["vega-lite", "build/vega-lite.min.js"],
  "vega-embed.min.js": ["vega-embed", "build/vega-embed.min.js"],
};

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
};

const CSP =
  "default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
  "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

function runInfo(run: RunEntry) {
  const { done, total } = runProgress(run.ctx);
  return {
    id: run.id,
    name: run.ctx.spec.name,
    dir: run.dir,
    base_model: run.ctx.spec.base_model,
    done,
    total,
    complete: done === total,
  };
}

function runDetail(run: RunEntry) {
  const a = analysisOf(run);
  return {
    ...runInfo(run),
    headline: a.headline,
    error: a.error ?? null,
    sections: a.sections,
    metrics: a.results?.evaluations ?? [],
    evaluations: evalSummaries(run.ctx),
  };
}

export function createViewServer(registry: RunRegistry, o: { allowedHosts?: string[] } = {}): Server {
  const assets = assetsDir();
  const files = new Map<string, { body: Buffer | string; type: string }>();
  const staticFile = (name: string): { body: Buffer | string; type: string } | null => {
    let f = files.get(name);
    if (f) return f;
    const ext = name.slice(name.lastIndexOf("."));
    if (name.startsWith("/vendor/")) {
      const v = VENDOR[name.slice("/vendor/".length)];
      if (!v) return null;
      let body = readFileSync(packageFile(v[0], v[1]), "utf8");
      // the browser has no package resolution: preact/hooks' import of "preact" points at the served file
      if (name === "/vendor/hooks.mjs") body = body.replace(/from\s*["']preact["']/g, 'from"/vendor/preact.mjs"');
      f = { body, type: TYPES[ext] };
    } else {
      const file = name === "/" ? "index.html" : name.replace(/^\/assets\//, "");
      if (!/^[\w.-]+$/.test(file) || !TYPES[file.slice(file.lastIndexOf("."))]) return null;
      const p = join(assets, file);
      if (!existsSync(p)) return null;
      f = { body: readFileSync(p), type: TYPES[file.slice(file.lastIndexOf("."))] };
    }
    files.set(name, f);
    return f;
  };

  const api = (path: string, params: URLSearchParams): unknown => {
    const parts = path
      .split("/")
      .filter(Boolean)
      .map((p) => {
        try {
          return decodeURIComponent(p);
        } catch {
          throw new BadRequest(`malformed %-escape in the path: ${JSON.stringify(p.slice(0, 80))}`);
        }
      }); // ["api", "runs", ...]
    if (parts.length === 2 && parts[1] === "runs") return registry.list().map(runInfo);
    if (parts[1] !== "runs" || parts.length < 3) throw new NotFound(`no API route ${path}`);
    const run = registry.get(parts[2]);
    if (!run) throw new NotFound(`no run "${parts[2]}" (GET /api/runs lists them)`);
    if (parts.length === 3) return runDetail(run);
    if (parts[3] === "compare" && parts.length === 4) return compare(run, params);
    if (parts[3] === "evals" && parts.length === 6 && parts[5] === "examples") return examplesOf(run, parts[4], params);
    if (parts[3] === "evals" && parts.length === 7 && parts[5] === "examples")
      return exampleDetail(run, parts[4], parts[6]);
    throw new NotFound(`no API route ${path}`);
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const send = (status: number, body: string | Buffer, type: string) => {
      res.writeHead(status, {
        "content-type": type,
        "content-security-policy": CSP,
        "x-content-type-options": "nosniff",
      });
      res.end(body);
    };
    const json = (status: number, v: unknown) =>
      send(
        status,
        JSON.stringify(v, (_, x) => (typeof x === "number" && !Number.isFinite(x) ? null : x)),
        "application/json",
      );
    if (req.method !== "GET") return json(405, { error: "only GET" });
    if (!hostAllowed(req.headers.host, req.socket.localAddress, o.allowedHosts))
      return json(403, { error: hostRefusal(req.headers.host ?? "") });
    if (url.pathname.startsWith("/api/")) {
      try {
        return json(200, api(url.pathname, url.searchParams));
      } catch (e) {
        if (e instanceof BadRequest) return json(400, { error: e.message });
        if (e instanceof NotFound) return json(404, { error: e.message });
        return json(500, { error: (e as Error).message });
      }
    }
    if (url.pathname === "/favicon.ico") return send(204, "", "image/x-icon");
    const f = staticFile(url.pathname);
    if (!f) return send(404, "not found", "text/plain; charset=utf-8");
    send(200, f.body, f.type);
  };
  return createServer(handle);
}

/** Listens; a port in use is an error saying so (the caller turns it into one line and exit 2). */
export function listen(server: Server, port: number, host: string): Promise<string> {
  return new Promise((ok, fail) => {
    server.once("error", fail);
    server.listen(port, host, () => {
      server.off("error", fail);
      const a = server.address() as AddressInfo;
      ok(`http://${host.includes(":") ? `[${host}]` : host}:${a.port}/`);
    });
  });
}
