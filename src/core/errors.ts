import { existsSync, readFileSync, statSync } from "node:fs";
/** An error about a user's file or input: the message names the file and the field, tensor or line. */
export class InputError extends Error {
  constructor(
    message: string,
    readonly file?: string,
  ) {
    super(file ? `${file}: ${message}` : message);
    this.name = "InputError";
  }
}

/** Validates `raw` with a zod schema; the first problem becomes an InputError naming the file and the field. */
export function parseOrThrow<T>(
  schema: {
    safeParse(
      v: unknown,
    ): { success: true; data: T } | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } };
  },
  raw: unknown,
  file?: string,
): T {
  const r = schema.safeParse(raw);
  if (r.success) return r.data;
  const i = r.error.issues[0];
  throw new InputError(`field "${i.path.map(String).join(".") || "(root)"}": ${i.message}`, file);
}

/** Reads a JSON file, or an InputError saying it is missing (with `what` needs it) or malformed. */
/**
 * A file that is there and is a regular file (followed through links): reading a FIFO blocks until something writes
 * to it, and a device or folder is no file to read; each is a one-line error instead.
 */
export function assertRegularFile(file: string, what?: string): void {
  if (!existsSync(file)) throw new InputError(what ? `not found (${what})` : "not found", file);
  if (!statSync(file).isFile()) throw new InputError("not a regular file (a FIFO, a device or a folder)", file);
}

export function readJsonFile(file: string, what: string): unknown {
  assertRegularFile(file, what);
  try {
    return JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new InputError(`malformed JSON: ${(e as Error).message}`, file);
  }
}

/** Reads a JSON file and checks it with a zod schema: an error names the file and the field that is wrong. */
export function readJsonAs<T>(schema: Parameters<typeof parseOrThrow<T>>[0], file: string, what: string): T {
  return parseOrThrow(schema, readJsonFile(file, what), file);
}

/**
 * Text safe to print on a terminal: control characters (ESC sequences, carriage returns, bells...) become visible
 * escapes such as \x1b; newlines and tabs stay. For messages that echo what a file or a request contained.
 */
export function printable(s: string): string {
  return s.replace(
    // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
    /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g,
    (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`,
  );
}
