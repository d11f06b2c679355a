/** Schema pieces the questions' spec parts share. */
import { z } from "zod";

export const TaskList = z.array(z.string().min(1)).min(1);
/** training replicates: each trained model is trained this many times, with seeds from named streams */
export const Replicates = z.number().int().min(1).max(100);
export const Share = z.object({ share: z.number().min(0).max(0.99), by: z.enum(["examples", "tokens"]) }).strict();
