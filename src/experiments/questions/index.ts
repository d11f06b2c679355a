/** The study's questions in the paper's order: the report's sections, results.json's keys and the planner's. */
import { contextLength } from "./context-length.js";
import { elicitation } from "./elicitation.js";
import { evasion } from "./evasion.js";
import { formatTransfer } from "./format-transfer.js";
import { instruction } from "./instruction.js";
import { promptChange } from "./prompt-change.js";
import { scaling } from "./scaling.js";
import { transfer } from "./transfer.js";

export const QUESTIONS = [
  transfer,
  scaling,
  promptChange,
  instruction,
  formatTransfer,
  elicitation,
  contextLength,
  evasion,
] as const;
export type AnyQuestion = (typeof QUESTIONS)[number];
export type QuestionId = AnyQuestion["id"];

/** Each question's result with its sentence, as results.json holds it (absent where the spec does not ask it). */
export type QuestionResults = {
  [Q in AnyQuestion as Q["id"]]?: ReturnType<Q["analyse"]> & { finding: string };
};
