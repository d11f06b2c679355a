/** Tasks, loaders, splits and the built-in world. */
export * from "./task.js";
export { loadTasks, loadPath, MANIFEST_NAMES } from "./loaders/load.js";
export { splitTasks, findLeaks, balanceReport, DEFAULT_FRACTIONS, type SplitTask, type SplitName } from "./splits.js";
export { taskToJsonl } from "./export.js";
export { formatProblem, type Problem } from "./problems.js";
export { buildWorld, generateWorldTexts, WORLD_DOMAINS, DEFAULT_WORLD_SIZE } from "./world/index.js";
export { generateInstructionData, type IfExample } from "./world/instructions.js";
export { domainSimilarity, formatMatrix } from "./similarity.js";
export {
  applyTransform,
  transformId,
  Transform,
  type TransformInputs,
  type TransformRecord,
} from "./transforms/transform.js";
export {
  ATTACK_FAMILIES,
  ATTACK_FAMILY_NAMES,
  TRAINING_FAMILIES,
  EVALUATION_FAMILIES,
  type AttackFamilyName,
} from "./transforms/attacks.js";
export { derivedTaskId, withDerivedTasks } from "./transforms/derived.js";
