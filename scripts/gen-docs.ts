// npm run docs: writes the generated references (docs/cli.md, schemas/*.schema.json) from the code.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { generatedReferences } from "../src/cli/reference.js";

for (const [path, text] of Object.entries(generatedReferences())) {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  console.log(`wrote ${path}`);
}
