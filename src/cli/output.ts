/** How the CLI reports: errors as one clear line and a non-zero exit; progress only on a terminal. */
import { InputError, printable } from "../core/errors.js";

export function fail(e: unknown): never {
  const msg =
    e instanceof InputError
      ? e.message
      : e instanceof Error
        ? process.env.CROSSMON_DEBUG
          ? (e.stack ?? e.message)
          : e.message
        : String(e);
  process.stderr.write(`crossmon: error: ${printable(msg)}\n`);
  process.exit(e instanceof InputError ? 2 : 1);
}

/** What --model and --adapter accept, said the same way by every command. */
export const MODEL_HELP =
  "model: a folder, or a hub id (org/name[@revision]) in the Hugging Face cache (crossmon pull)";
export const ADAPTER_HELP = "PEFT LoRA adapter: a folder, or a hub id in the Hugging Face cache";

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

/** A numeric command-line option, checked: a clear error naming the flag instead of a NaN that fails later. */
export function numberOption(
  value: string,
  flag: string,
  o: { integer?: boolean; min?: number; max?: number } = {},
): number {
  const n = Number(value);
  const bad =
    value.trim() === "" ||
    !Number.isFinite(n) ||
    (o.integer && !Number.isInteger(n)) ||
    (o.min !== undefined && n < o.min) ||
    (o.max !== undefined && n > o.max);
  if (bad) {
    const range =
      o.min !== undefined && o.max !== undefined
        ? ` between ${o.min} and ${o.max}`
        : o.min !== undefined
          ? ` of at least ${o.min}`
          : "";
    throw new InputError(
      `${flag} must be ${o.integer ? "an integer" : "a number"}${range} (got ${JSON.stringify(value)})`,
    );
  }
  return n;
}
