/**
 * The entry of a worker thread whose code is the TypeScript or JavaScript file `file` beside `from` (an
 * import.meta.url): the compiled .js as it is, or, when crossmon runs from its TypeScript sources (tsx), a small module
 * that registers tsx in the thread first.
 */
export function threadEntry(from: string, file: string): URL {
  if (!from.endsWith(".ts")) return new URL(`./${file}.js`, from);
  const thread = new URL(`./${file}.ts`, from).href;
  const code = `const { register } = await import(${JSON.stringify(import.meta.resolve("tsx/esm/api"))});
register();
await import(${JSON.stringify(thread)});`;
  return new URL(`data:text/javascript,${encodeURIComponent(code)}`);
}
