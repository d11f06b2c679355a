/** An error about a user's file or input: the message names the file and the field, tensor or line. */
export class InputError extends Error {
  constructor(message: string, readonly file?: string) {
    super(file ? `${file}: ${message}` : message);
    this.name = "InputError";
  }
}

/** Validates `raw` with a zod schema; the first problem becomes an InputError naming the file and the field. */
export function parseOrThrow<T>(schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } } }, raw: unknown, file?: string): T {
  const r = schema.safeParse(raw);
  if (r.success) return r.data;
  const i = r.error.issues[0];
  throw new InputError(`field "${i.path.map(String).join(".") || "(root)"}": ${i.message}`, file);
}
