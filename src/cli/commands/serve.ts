/** `crossmon serve`: a model (and adapter) as an OpenAI-compatible server with a monitor endpoint. */
import type { Command } from "commander";
import { InputError } from "../../core/errors.js";
import { monitorTitle, parseMonitorRef, runMonitor } from "../../experiments/monitors.js";
import { MonitorServer } from "../../serve/server.js";
import { ADAPTER_HELP, action, MODEL_HELP, numberOption } from "../output.js";

export function registerServe(program: Command): void {
  program
    .command("serve")
    .description(
      "serve a model folder (optionally with a LoRA adapter) over an OpenAI-compatible API, with POST /v1/classify",
    )
    .option("--model <ref>", `${MODEL_HELP} (with --adapter RUN:NAME, the monitor's own base by default)`)
    .option(
      "--adapter <ref>",
      `${ADAPTER_HELP}; or RUN:NAME, a monitor a run trained (export RUN --to gguf lists them)`,
    )
    .option("--name <name>", "the model name clients use (default: the folder's name)")
    .option("--host <host>", "address to bind (default loopback only)", "127.0.0.1")
    .option("--port <n>", "port (0 = any free port)", "8000")
    .option("--max-batch <n>", "classify requests per forward pass", "16")
    .option("--max-queue <n>", "queued requests before answering 429", "256")
    .option("--max-body <bytes>", "largest request body", String(1 << 20))
    .option("--max-prompt-tokens <n>", "longest chat or completion prompt, in tokens (default: the model's context)")
    .option("--request-timeout <s>", "seconds a client may take to send a whole request", "30")
    .option("--max-connections <n>", "open connections at most (more are closed at once)", "256")
    .option("--allow-host <names...>", "Host names to serve besides the bound address and localhost")
    .action(
      action(
        async (o: {
          model?: string;
          adapter?: string;
          name?: string;
          host: string;
          port: string;
          maxBatch: string;
          maxQueue: string;
          maxBody: string;
          maxPromptTokens?: string;
          requestTimeout: string;
          maxConnections: string;
          allowHost?: string[];
        }) => {
          // RUN:NAME: a monitor of a run, served under that name with the base it was trained on
          const named = o.adapter ? parseMonitorRef(o.adapter) : null;
          const monitor = named ? runMonitor(named.run, named.name, "--adapter") : null;
          if (monitor && !monitor.ref.adapter)
            throw new InputError(`--adapter ${o.adapter}: that monitor is not an adapter (serve its model folder)`);
          const model = o.model ?? monitor?.ref.base;
          if (!model) throw new InputError("--model: name the model to serve");
          const server = new MonitorServer({
            model,
            adapter: monitor ? monitor.ref.adapter : o.adapter,
            name: o.name ?? (named ? monitorTitle(named.run, named.name) : undefined),
            host: o.host,
            port: numberOption(o.port, "--port", { integer: true, min: 0, max: 65535 }),
            maxBatch: numberOption(o.maxBatch, "--max-batch", { integer: true, min: 1 }),
            maxQueue: numberOption(o.maxQueue, "--max-queue", { integer: true, min: 1 }),
            maxBodyBytes: numberOption(o.maxBody, "--max-body", { integer: true, min: 1 }),
            maxPromptTokens:
              o.maxPromptTokens === undefined
                ? undefined
                : numberOption(o.maxPromptTokens, "--max-prompt-tokens", { integer: true, min: 1 }),
            requestTimeoutMs: 1000 * numberOption(o.requestTimeout, "--request-timeout", { min: 1 }),
            maxConnections: numberOption(o.maxConnections, "--max-connections", { integer: true, min: 1 }),
            allowedHosts: o.allowHost,
            log: (l) => process.stderr.write(`${l}\n`),
          });
          const { host, port } = await server.listen();
          // the PID is the server's own (npx and npm start it through a wrapper whose PID is not this one)
          console.log(
            `crossmon serve: ${server.name} on http://${host}:${port}/v1, pid ${process.pid} ` +
              "(POST /v1/classify, /v1/chat/completions, /v1/completions; GET /v1/models)",
          );
          let stopping = false;
          const stop = async (sig: string) => {
            if (stopping) return;
            stopping = true;
            process.stderr.write(`${sig}: finishing queued requests, then exiting\n`);
            await server.close();
            process.exit(0);
          };
          process.on("SIGTERM", () => void stop("SIGTERM"));
          process.on("SIGINT", () => void stop("SIGINT"));
        },
      ),
    );
}
