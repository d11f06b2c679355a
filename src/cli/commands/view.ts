/** `crossmon view [RUN_DIR...]`: the local viewer over run folders (src/view). */
import { spawn } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Command } from "commander";
import { InputError } from "../../core/errors.js";
import { RunRegistry } from "../../view/runs.js";
import { createViewServer, listen } from "../../view/server.js";
import { action, numberOption } from "../output.js";

/** The runs under ./runs when none are named. */
function defaultRuns(): string[] {
  if (!existsSync("runs")) return [];
  return readdirSync("runs")
    .map((d) => join("runs", d))
    .filter((d) => existsSync(join(d, "store.sqlite")))
    .sort();
}

/** The run folder of a store named by --store (a SQLite file, as a path or a sqlite:// URL). */
function storeFolder(url: string): string {
  if (/^postgres(ql)?:\/\//.test(url))
    throw new InputError("--store: PostgreSQL stores are not supported yet; name a run folder or its store.sqlite");
  const path = url.startsWith("sqlite://") ? decodeURIComponent(url.slice("sqlite://".length)) : url;
  if (!existsSync(path)) throw new InputError("--store: not found", path);
  return statSync(path).isDirectory() ? path : dirname(path);
}

function openBrowser(url: string): void {
  const cmd = process.platform === "darwin" ? "open" : process.platform === "win32" ? "explorer" : "xdg-open";
  const p = spawn(cmd, [url], { stdio: "ignore", detached: true });
  p.on("error", () => process.stderr.write(`crossmon view: could not open a browser (${cmd}); open ${url}\n`));
  p.unref();
}

export function registerView(program: Command): void {
  program
    .command("view [runs...]")
    .description("look at runs in the browser: findings, charts, and every example behind them (default: runs/*)")
    .option("--port <n>", "port (0: any free one)", "8400")
    .option("--host <address>", "address to bind (the default keeps it on this machine)", "127.0.0.1")
    .option("--store <url>", "a run's store instead of its folder: a store.sqlite path or sqlite:///path/store.sqlite")
    .option("--open", "open it in the default browser")
    .option("--allow-host <names...>", "Host names to serve besides the bound address and localhost")
    .action(
      action(
        async (
          runs: string[],
          o: { port: string; host: string; store?: string; open?: boolean; allowHost?: string[] },
        ) => {
          const dirs = o.store ? [...runs, storeFolder(o.store)] : runs.length ? runs : defaultRuns();
          if (!dirs.length)
            throw new InputError("no run to show: name a run folder (one holding store.sqlite)", "runs/");
          const port = numberOption(o.port, "--port", { integer: true, min: 0, max: 65535 });
          const registry = await RunRegistry.open(dirs);
          const server = createViewServer(registry, { allowedHosts: o.allowHost });
          let url: string;
          try {
            url = await listen(server, port, o.host);
          } catch (e) {
            const err = e as NodeJS.ErrnoException;
            if (err.code === "EADDRINUSE")
              throw new InputError(`--port ${port}: already in use (--port 0 picks a free one)`);
            throw new InputError(`cannot listen on ${o.host}:${port}: ${err.message}`);
          }
          console.log(`crossmon view: ${registry.list().length} run(s) on ${url} (pid ${process.pid}; Ctrl-C to stop)`);
          if (o.open) openBrowser(url);
          const stop = () => {
            server.close();
            registry.close();
            process.exit(0);
          };
          process.on("SIGINT", stop);
          process.on("SIGTERM", stop);
        },
      ),
    );
}
