/** Progress of long work: a redrawn line on a terminal, plain periodic lines elsewhere (logs, CI), silent if asked. */
export class Progress {
  private last = 0;
  private readonly tty: boolean;
  constructor(
    readonly label: string,
    readonly total: number,
    readonly o: { quiet?: boolean; intervalMs?: number; stream?: NodeJS.WriteStream } = {},
  ) {
    this.tty = !!(o.stream ?? process.stderr).isTTY;
  }
  update(done: number, fields: Record<string, string | number>, etaSeconds?: number): void {
    if (this.o.quiet) return;
    const now = Date.now();
    const interval = this.o.intervalMs ?? (this.tty ? 200 : 30000);
    if (now - this.last < interval && done < this.total) return;
    this.last = now;
    const stream = this.o.stream ?? process.stderr;
    const parts = Object.entries(fields).map(
      ([k, v]) =>
        `${k} ` +
        `${typeof v !== "number" || Number.isInteger(v) ? v : Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(4)}`,
    );
    const eta = etaSeconds !== undefined && Number.isFinite(etaSeconds) ? ` eta ${formatDuration(etaSeconds)}` : "";
    if (this.tty) {
      const width = 24;
      const fill = Math.round((width * done) / Math.max(1, this.total));
      stream.write(
        `\r${this.label} [${"#".repeat(fill)}${"-".repeat(width - fill)}] ${done}/${this.total} ` +
          `${parts.join(" ")}${eta}\x1b[K`,
      );
      if (done >= this.total) stream.write("\n");
    } else stream.write(`${this.label} ${done}/${this.total} ${parts.join(" ")}${eta}\n`);
  }
}

export function formatDuration(s: number): string {
  if (s < 90) return `${Math.round(s)}s`;
  if (s < 5400) return `${Math.round(s / 60)}m`;
  return `${(s / 3600).toFixed(1)}h`;
}
