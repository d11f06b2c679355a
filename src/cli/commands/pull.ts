/** `crossmon pull`: a model, adapter or dataset from the hub into the Hugging Face cache. */
import type { Command } from "commander";
import { InputError } from "../../core/errors.js";
import { pull } from "../../hub/pull.js";
import { parseHubRef } from "../../hub/reference.js";
import { action } from "../output.js";

export function registerPull(program: Command): void {
  program
    .command("pull")
    .description(
      "download a model, adapter or dataset by hub id into the Hugging Face cache (HF_HOME / HF_HUB_CACHE), " +
        "where crossmon and transformers both find it; resumes after a kill; HF_ENDPOINT and HF_TOKEN honoured",
    )
    .argument("<id>", "hub id, org/name or org/name@revision")
    .option("--revision <rev>", "branch, tag or commit (default main)")
    .option("--include <glob...>", "only these files (default: configs, safetensors, tokenizer and chat template)")
    .option("--dataset", "the id names a dataset, not a model")
    .option("--quiet", "no progress")
    .action(
      action(async (id: string, o: { revision?: string; include?: string[]; dataset?: boolean; quiet?: boolean }) => {
        const ref = parseHubRef(id, o.dataset ? "dataset" : "model");
        if (!ref) throw new InputError(`"${id}" is not a hub id (org/name or org/name@revision)`);
        if (o.revision) {
          if (id.includes("@")) throw new InputError(`give the revision once: in "${id}" or with --revision`);
          if (!parseHubRef(`${ref.id}@${o.revision}`)) throw new InputError(`--revision: "${o.revision}" is not one`);
          ref.revision = o.revision;
        }
        const r = await pull(ref, { include: o.include, quiet: o.quiet, log: (s) => process.stderr.write(`${s}\n`) });
        process.stdout.write(`${r.snapshot}\n`);
      }),
    );
}
