/**
 * Reading Inspect eval logs one sample at a time, in both of Inspect's formats:
 *  - `.json`: one JSON document `{version, status, eval, plan, results, stats, samples: [...], ...}`, parsed as a
 *    stream (stream-json) so a log of several GB never sits in memory whole;
 *  - `.eval`: a zip holding `header.json` (the log without samples; `_journal/start.json` while a run is in progress),
 *    one `samples/<id>_epoch_<n>.json` per sample, and summaries/journal entries that are not needed here.
 * Only the fields crossmon reads are checked; the rest of a sample passes through untouched.
 */
import { createReadStream, statSync } from "node:fs";
import { pipeline } from "node:stream";
import yauzl from "yauzl";
import { pick } from "stream-json/filters/pick.js";
import { streamValues } from "stream-json/streamers/stream-values.js";
import { parser } from "stream-json";
import { z } from "zod";
import { InputError } from "../../core/errors.js";

/** A file that is readable but is no Inspect log (an expected.json beside the logs): skipped when found in a folder. */
export class NotALog extends InputError {}

/** What crossmon needs from a log's header: the task and model (for provenance) and the epochs asked for. */
export interface LogHeader {
  task: string;
  model: string;
  epochs: number;
  status?: string;
}

export const LogSample = z
  .object({
    id: z.union([z.string(), z.number()]),
    epoch: z.number().int().default(1),
    input: z.union([z.string(), z.array(z.unknown())]).optional(),
    messages: z.array(z.unknown()).optional(),
    target: z.union([z.string(), z.array(z.string())]).optional(),
    scores: z.record(z.string(), z.unknown()).nullish(),
    metadata: z.record(z.string(), z.unknown()).nullish(),
    attachments: z.record(z.string(), z.string()).nullish(),
    error: z.unknown().optional(),
  })
  .loose();
export type LogSample = z.infer<typeof LogSample>;

const EvalSpec = z
  .object({
    task: z.string(),
    model: z.string().default(""),
    config: z.object({ epochs: z.number().int().nullish() }).loose().default({}),
  })
  .loose();

function headerOf(raw: unknown, file: string, where: string): LogHeader {
  const spec = EvalSpec.safeParse((raw as { eval?: unknown } | null)?.eval);
  if (!spec.success) throw new NotALog(`not an Inspect log: ${where} has no eval header (eval.task)`, file);
  const status = (raw as { status?: unknown }).status;
  return {
    task: spec.data.task,
    model: spec.data.model,
    epochs: spec.data.config.epochs ?? 1,
    ...(typeof status === "string" ? { status } : {}),
  };
}

/** One sample of a log as read: checked against LogSample, or the reason it is not a sample. */
export type RawSample = { ok: true; sample: LogSample } | { ok: false; id: string; message: string };

function checkSample(raw: unknown): RawSample {
  const r = LogSample.safeParse(raw);
  if (r.success) return { ok: true, sample: r.data };
  const id = (raw as { id?: unknown } | null)?.id;
  const i = r.error.issues[0];
  return {
    ok: false,
    id: id === undefined ? "?" : String(id),
    message: `${i.path.join(".") || "sample"}: ${i.message}`,
  };
}

export interface InspectLog {
  file: string;
  header: LogHeader;
  samples(): AsyncGenerator<RawSample>;
}

/**
 * How much a `.eval` zip may inflate to: per entry (one sample, held whole while it is read) and in all. A zip entry
 * of 12 MB can inflate to 12 GB; past a limit the read stops with an error that names the entry and the limit.
 * Overridable (`data import inspect --max-entry-mb / --max-log-gb`, or the environment variables named here).
 */
export interface InflateLimits {
  entryBytes: number;
  totalBytes: number;
}

export function defaultInflateLimits(): InflateLimits {
  const env = (name: string, fallback: number, unit: number) => {
    const v = Number(process.env[name]);
    return Number.isFinite(v) && v > 0 ? v * unit : fallback * unit;
  };
  return {
    entryBytes: env("CROSSMON_INSPECT_MAX_ENTRY_MB", 256, 2 ** 20),
    totalBytes: env("CROSSMON_INSPECT_MAX_LOG_GB", 16, 2 ** 30),
  };
}

const mb = (n: number) => `${(n / 2 ** 20).toFixed(0)} MB`;

/** Opens a log by its extension (.json or .eval); a clear error when it is neither or is not Inspect's. */
export async function openInspectLog(file: string, limits = defaultInflateLimits()): Promise<InspectLog> {
  if (file.endsWith(".eval")) return openEvalZip(file, limits);
  if (file.endsWith(".json")) return openJsonLog(file);
  throw new NotALog("not an Inspect log (expected a .eval or .json file)", file);
}

/** The values at the picked paths of a JSON file, assembled one at a time. */
async function* jsonValues(file: string, filter: RegExp, once = false): AsyncGenerator<unknown> {
  const values = pipeline(
    createReadStream(file),
    parser.asStream(),
    pick.asStream({ filter, once }),
    streamValues.asStream(),
    () => {}, // errors surface through the iteration below
  );
  try {
    for await (const v of values as AsyncIterable<{ value: unknown }>) yield v.value;
  } catch (e) {
    throw new InputError(`not readable as JSON (${(e as Error).message}); is the log truncated?`, file);
  } finally {
    values.destroy();
  }
}

async function openJsonLog(file: string): Promise<InspectLog> {
  // the header comes before the samples in Inspect's own layout: this pass stops as soon as it has it
  let evalSpec: unknown;
  for await (const v of jsonValues(file, /^eval$/, true)) {
    evalSpec = v;
    break;
  }
  const header = headerOf({ eval: evalSpec }, file, "the file");
  return {
    file,
    header,
    async *samples() {
      for await (const v of jsonValues(file, /^samples\.\d+$/)) yield checkSample(v);
    },
  };
}

function openZip(file: string): Promise<yauzl.ZipFile> {
  return new Promise((ok, fail) =>
    yauzl.open(file, { lazyEntries: true, autoClose: false }, (err, zip) => {
      if (err) {
        const size = statSync(file).size;
        fail(new InputError(`not a readable .eval zip (${size} bytes; truncated or not a zip?): ${err.message}`, file));
      } else ok(zip);
    }),
  );
}

function entriesOf(zip: yauzl.ZipFile, file: string): Promise<yauzl.Entry[]> {
  return new Promise((ok, fail) => {
    const entries: yauzl.Entry[] = [];
    zip.on("entry", (e: yauzl.Entry) => {
      entries.push(e);
      zip.readEntry();
    });
    zip.on("end", () => ok(entries));
    zip.on("error", (e: Error) => fail(new InputError(`damaged .eval zip: ${e.message}`, file)));
    zip.readEntry();
  });
}

/**
 * One entry's JSON, its inflated bytes counted as they come: past the entry's limit, or the log's (`total` counts
 * every entry read so far), the read stops and nothing more is inflated.
 */
function readEntry(
  zip: yauzl.ZipFile,
  entry: yauzl.Entry,
  file: string,
  limits: InflateLimits,
  total: { bytes: number },
): Promise<unknown> {
  const where = `${file} (${entry.fileName})`;
  const over = (what: string) =>
    new InputError(
      `${what}: refused (a zip bomb, or a sample too large to hold; raise the limit with --max-entry-mb or ` +
        "--max-log-gb if the log is yours)",
      where,
    );
  // the size the zip declares is checked before inflating anything (yauzl then holds the entry to it)
  if (entry.uncompressedSize > limits.entryBytes)
    return Promise.reject(
      over(`inflates to ${mb(entry.uncompressedSize)}, past the limit of ${mb(limits.entryBytes)}`),
    );
  return new Promise((ok, fail) => {
    zip.openReadStream(entry, (err, stream) => {
      if (err) {
        const zstd = entry.compressionMethod === 93 ? " (zstd: convert with `inspect log convert --to json`)" : "";
        return fail(new InputError(`unreadable entry: ${err.message}${zstd}`, where));
      }
      const chunks: Buffer[] = [];
      let size = 0;
      let stopped = false;
      stream.on("data", (c: Buffer) => {
        if (stopped) return;
        size += c.length;
        total.bytes += c.length;
        const why =
          size > limits.entryBytes
            ? `inflates past the limit of ${mb(limits.entryBytes)}`
            : total.bytes > limits.totalBytes
              ? `the log inflates past the limit of ${mb(limits.totalBytes)} in all`
              : null;
        if (why) {
          stopped = true;
          chunks.length = 0;
          stream.destroy();
          return fail(over(why));
        }
        chunks.push(c);
      });
      stream.on("error", (e: Error) => {
        if (!stopped) fail(new InputError(`damaged entry: ${e.message}`, where));
      });
      stream.on("end", () => {
        if (stopped) return;
        try {
          ok(JSON.parse(Buffer.concat(chunks).toString("utf8")));
        } catch (e) {
          fail(new InputError(`malformed JSON: ${(e as Error).message}`, where));
        }
      });
    });
  });
}

async function openEvalZip(file: string, limits: InflateLimits): Promise<InspectLog> {
  const total = { bytes: 0 };
  const zip = await openZip(file);
  let entries: yauzl.Entry[];
  try {
    entries = await entriesOf(zip, file);
  } catch (e) {
    zip.close();
    throw e;
  }
  const byName = new Map(entries.map((e) => [e.fileName, e]));
  // a finished log has header.json; one still running (or killed) has only the journal's start.json
  const headerEntry = byName.get("header.json") ?? byName.get("_journal/start.json");
  if (!headerEntry) {
    zip.close();
    const some = entries
      .slice(0, 3)
      .map((e) => e.fileName)
      .join(", ");
    throw new NotALog(`not an Inspect log: the zip has no header.json (it holds ${some || "nothing"})`, file);
  }
  let headerJson: unknown;
  try {
    headerJson = await readEntry(zip, headerEntry, file, limits, total);
  } catch (e) {
    zip.close();
    throw e;
  }
  const header = headerOf(headerJson, file, headerEntry.fileName);
  const sampleEntries = entries.filter((e) => /^samples\/[^/]+\.json$/.test(e.fileName));
  return {
    file,
    header,
    async *samples() {
      try {
        for (const e of sampleEntries) yield checkSample(await readEntry(zip, e, file, limits, total));
      } finally {
        zip.close();
      }
    },
  };
}
