// Lines of src/ within 120 characters (the formatter keeps code there but does not break strings or comments).
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

const LIMIT = 120;
const walk = (dir) =>
  readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : /\.(ts|js|mjs)$/.test(name) ? [p] : [];
  });
const long = walk("src").flatMap((file) =>
  readFileSync(file, "utf8")
    .split("\n")
    .map((line, i) => ({ file, line: i + 1, length: [...line].length }))
    .filter((l) => l.length > LIMIT),
);
for (const l of long) console.error(`${l.file}:${l.line}: ${l.length} characters (limit ${LIMIT})`);
process.exit(long.length ? 1 : 0);
