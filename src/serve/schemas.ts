/** Request bodies the server accepts (zod): a bad field is a 400 that names it. */
import { z } from "zod";

/**
 * max_tokens when a request leaves it out: 16 for completions (OpenAI's documented default), 64 for chat (OpenAI's is
 * the rest of the context; a monitor's verdict or a short reasoning fits in 64). One place, used by both endpoints.
 */
export const DEFAULT_MAX_TOKENS = { completion: 16, chat: 64 } as const;

const Message = z.object({ role: z.string().min(1), content: z.string() });
const Stop = z.union([z.string(), z.array(z.string()).max(8)]).optional();

export const ChatRequest = z.object({
  model: z.string().optional(),
  messages: z.array(Message).min(1),
  max_tokens: z.number().int().min(1).max(4096).optional(),
  max_completion_tokens: z.number().int().min(1).max(4096).optional(),
  temperature: z.number().min(0).max(2).optional(),
  top_p: z.number().gt(0).max(1).optional(),
  seed: z.number().int().optional(),
  stop: Stop,
  logprobs: z.boolean().optional(),
  top_logprobs: z.number().int().min(0).max(20).optional(),
  n: z.literal(1).optional(),
  stream: z.literal(false).optional(),
});

export const CompletionRequest = z.object({
  model: z.string().optional(),
  prompt: z.string().min(1),
  max_tokens: z.number().int().min(0).max(4096).optional(),
  temperature: z.number().min(0).max(2).optional(),
  top_p: z.number().gt(0).max(1).optional(),
  seed: z.number().int().optional(),
  stop: Stop,
  logprobs: z.number().int().min(0).max(20).optional(),
  /** echoing the prompt back is not done here: true is refused rather than ignored */
  echo: z.literal(false, { error: "echo: true is not supported (the prompt is not echoed back)" }).optional(),
  n: z.literal(1).optional(),
  stream: z.literal(false).optional(),
});

export const ClassifyRequest = z
  .object({
    model: z.string().optional(),
    /** a template with {text}, or a plain question placed after the text */
    prompt: z.string().min(1),
    text: z.string().min(1).optional(),
    messages: z.array(Message).min(1).optional(),
    positive: z.string().min(1).optional(),
    negative: z.string().min(1).optional(),
  })
  .refine((r) => (r.text === undefined) !== (r.messages === undefined), {
    message: 'give exactly one of "text" and "messages"',
    path: ["text"],
  });
