/** Collected problems with input files: each names the file, the line or row, and the field. */
import { InputError, printable } from "../core/errors.js";

export interface Problem {
  file: string;
  /** 1-based line (JSONL, CSV) or row (Parquet); absent for whole-file problems */
  line?: number;
  field?: string;
  message: string;
  unit?: "line" | "row";
}

export function formatProblem(p: Problem): string {
  const where = p.line !== undefined ? `:${p.unit === "row" ? "row " : ""}${p.line}` : "";
  // messages echo file content (a parser's snippet of a bad line): no terminal control sequence gets through
  return printable(`${p.file}${where}: ${p.field ? `field "${p.field}": ` : ""}${p.message}`);
}

export class ProblemList {
  readonly items: Problem[] = [];
  add(p: Problem): void {
    this.items.push(p);
  }
  get count(): number {
    return this.items.length;
  }
  get ok(): boolean {
    return this.items.length === 0;
  }
  /** Throws one InputError naming the first problems (all of them are in .problems). */
  throwIfAny(): void {
    if (this.ok) return;
    const shown = this.items.slice(0, 5).map(formatProblem).join("\n  ");
    const more =
      this.items.length > 5 ? `\n  … and ${this.items.length - 5} more (crossmon data validate lists them all)` : "";
    const err = new InputError(
      `${this.items.length} problem${this.items.length > 1 ? "s" : ""} in the input:\n  ${shown}${more}`,
    );
    (err as InputError & { problems: Problem[] }).problems = this.items;
    throw err;
  }
}
