/**
 * Where an experiment's tasks come from: the built-in world, users' task files and folders (hf://datasets/... names
 * among them), or both at once, so sources can be the world's and evaluation a user's tasks, or the other way round.
 * A task id given by two sources is an error naming both: a spec's task names must mean one task.
 */
import { InputError } from "../core/errors.js";
import { loadTasks, type LoadOptions } from "./loaders/load.js";
import type { Task } from "./task.js";
import { buildWorld, DEFAULT_WORLD_SIZE } from "./world/index.js";

export interface DataSources {
  /** one path, or several */
  tasks?: string | string[];
  /** the built-in world; used when given, and when no tasks are */
  world?: { seed: number; size: number };
}

export function taskPaths(d: DataSources): string[] {
  return d.tasks === undefined ? [] : Array.isArray(d.tasks) ? d.tasks : [d.tasks];
}

export async function loadSources(d: DataSources, o: LoadOptions = {}): Promise<Task[]> {
  const paths = taskPaths(d);
  const groups: Task[][] = [];
  if (d.world || !paths.length) groups.push(buildWorld(d.world ?? { seed: 0, size: DEFAULT_WORLD_SIZE }));
  for (const p of paths) groups.push(await loadTasks(p, undefined, o));
  const seen = new Map<string, string>();
  for (const t of groups.flat()) {
    const first = seen.get(t.id);
    if (first !== undefined)
      throw new InputError(
        `task id "${t.id}" comes from both ${first} and ${t.source}: rename one of them (the id in its manifest)`,
      );
    seen.set(t.id, t.source);
  }
  return groups.flat();
}
