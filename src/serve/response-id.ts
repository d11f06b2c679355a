/** A response id as OpenAI's API writes them (`chatcmpl-…`, `cmpl-…`), unique per response, not per millisecond. */
import { randomUUID } from "node:crypto";

export function responseId(prefix: "chatcmpl" | "cmpl"): string {
  return `${prefix}-${randomUUID().replaceAll("-", "")}`;
}
