/** How the CLI reports: errors as one clear line and a non-zero exit; progress only on a terminal. */
import { InputError } from "../engine/errors.js";

export function fail(e: unknown): never {
  const msg = e instanceof InputError ? e.message : e instanceof Error ? (process.env.CROSSMON_DEBUG ? e.stack ?? e.message : e.message) : String(e);
  process.stderr.write(`crossmon: error: ${msg}\n`);
  process.exit(e instanceof InputError ? 2 : 1);
}

/** Wraps a command action so that any error ends as one line on stderr and a non-zero exit. */
export function action<A extends unknown[]>(fn: (...args: A) => void | Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (e) {
      fail(e);
    }
  };
}
