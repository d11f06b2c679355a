/** crossmon's public API. */
export * from "./engine/index.js";
export * from "./data/index.js";
export { auroc } from "./eval/auroc.js";
export { bagOfWordsBaseline } from "./eval/baseline.js";
