/**
 * The names the plan gives the models it trains ("in-domain:agent_dangerous", "if:none", ...), built here and only
 * here: the planner names models with these functions, and the analysis, the report and the viewer look them up with
 * the same ones, so a name cannot drift between them.
 */
export const UNTRAINED = "untrained";

export const models = {
  inDomain: (task: string) => `in-domain:${task}`,
  source: (recipe: string) => `source:${recipe}`,
  scaling: (adjacent: number) => `scaling:${adjacent}`,
  promptTrained: "prompt:trained",
  promptContrast: "prompt:trained+contrast",
  ifNone: "if:none",
  ifAfter: "if:after",
  ifOnly: "if:only",
  ifMixed: (m: { share: number; by: string }) => `if:mixed ${Math.round(m.share * 100)}% by ${m.by}`,
  formatTrained: "format:trained",
  elicitPseudo: "elicit:pseudo",
  elicitSupervised: "elicit:supervised",
} as const;

/** The instruction question's variants, in the order the report lists them ("untrained" first). */
export function instructionVariants(mixed: { share: number; by: string }[]): string[] {
  return [UNTRAINED, models.ifNone, models.ifAfter, ...mixed.map(models.ifMixed), models.ifOnly];
}
