/**
 * Loading tasks from users' files: a data file whose rows carry their task (task, domain, prompt columns, as
 * `crossmon data export` writes), a data file plus a task header, or a folder/manifest (crossmon.yaml) naming files.
 * Every problem is collected (file, line, field); loadTasks throws them together, validatePath returns them.
 */
import { existsSync, readFileSync, realpathSync, statSync } from "node:fs";
import { basename, dirname, isAbsolute, join, relative, resolve } from "node:path";
import YAML from "yaml";
import { InputError } from "../../core/errors.js";
import { Manifest, TaskHeader, rowToExample } from "../schema.js";
import { ProblemList } from "../problems.js";
import { DEFAULT_ANSWERS, DEFAULT_LABELS, type Example, type Task } from "../task.js";
import { isDatasetUri, resolveDatasetPath } from "../../hub/dataset.js";
import { dataFilesUnder, mappedRows } from "./columns.js";
import { formatOf, readRows, type RawRow } from "./rows.js";

export const MANIFEST_NAMES = ["crossmon.yaml", "crossmon.yml", "crossmon.json"];
const ROW_TASK_FIELDS = [
  "task",
  "domain",
  "prompt",
  "positive_label",
  "negative_label",
  "positive_answer",
  "negative_answer",
  "answer_line",
];

export interface LoadResult {
  tasks: Task[];
  problems: ProblemList;
}

function headerFromRow(d: Record<string, unknown>): Record<string, unknown> {
  return {
    id: d.task,
    domain: d.domain,
    prompt: d.prompt,
    labels: {
      positive: d.positive_label ?? DEFAULT_LABELS.positive,
      negative: d.negative_label ?? DEFAULT_LABELS.negative,
    },
    answers: {
      positive: d.positive_answer ?? DEFAULT_ANSWERS.positive,
      negative: d.negative_answer ?? DEFAULT_ANSWERS.negative,
    },
    ...(d.answer_line !== undefined && d.answer_line !== "" ? { answer_line: d.answer_line } : {}),
  };
}

function rowsToTasks(
  file: string,
  rows: Iterable<RawRow>,
  header: TaskHeader | null,
  problems: ProblemList,
  o: { unlabelled?: boolean } = {},
): Task[] {
  const tasks = new Map<string, { task: Task; ids: Map<string, number> }>();
  let read = 0;
  const before = problems.count;
  for (const r of rows) {
    read++;
    const at = { file: r.file ?? file, line: r.line, unit: r.unit };
    let h: TaskHeader | null = header;
    if (!h) {
      if (r.data.task === undefined) {
        problems.add({
          ...at,
          field: "task",
          message: "missing (rows need task, domain and prompt, or a manifest that names them)",
        });
        continue;
      }
      const parsed = TaskHeader.safeParse(headerFromRow(r.data));
      if (!parsed.success) {
        for (const i of parsed.error.issues) {
          const field =
            i.path[0] === "id"
              ? "task"
              : i.path
                  .join(".")
                  .replace("labels.", "")
                  .replace(/^(positive|negative)$/, "$1_label");
          problems.add({ ...at, field, message: i.message });
        }
        continue;
      }
      h = parsed.data;
    }
    let entry = tasks.get(h.id);
    if (!entry) {
      entry = { task: { ...h, examples: [], source: file }, ids: new Map() };
      tasks.set(h.id, entry);
    } else if (!header && (entry.task.prompt !== h.prompt || entry.task.domain !== h.domain)) {
      problems.add({
        ...at,
        field: entry.task.prompt !== h.prompt ? "prompt" : "domain",
        message: `differs from earlier rows of task "${h.id}"`,
      });
      continue;
    }
    const data = header
      ? r.data
      : Object.fromEntries(Object.entries(r.data).filter(([k]) => !ROW_TASK_FIELDS.includes(k)));
    // rows of several files (a dataset's splits) without an id are told apart by their file:
    // "train-00000-of-00001:row3"
    const fallback = `${r.file ? `${basename(r.file).replace(/\.[^.]+$/, "")}:` : ""}${r.unit}${r.line}`;
    const ex: Example | null = rowToExample(data, h.labels, at, problems, fallback, o);
    if (!ex) continue;
    const prev = entry.ids.get(ex.id);
    if (prev !== undefined) {
      problems.add({
        ...at,
        field: "id",
        message: `duplicate id "${ex.id}" (first at ${r.unit} ${prev})`,
      });
      continue;
    }
    entry.ids.set(ex.id, r.line);
    if (o.unlabelled) {
      const { label: _unread, ...text } = ex;
      entry.task.pool ??= [];
      entry.task.pool.push(text);
    } else entry.task.examples.push(ex);
  }
  // an empty or blank file is an error, not "0 examples" (a file that could not be read has its problem already)
  if (read === 0 && problems.count === before) problems.add({ file, message: "no rows: the file is empty or blank" });
  for (const { task } of tasks.values()) {
    if (task.examples.length === 0 && !task.pool?.length)
      problems.add({ file, message: `task "${task.id}" has no usable example` });
  }
  return [...tasks.values()].map((e) => e.task);
}

export interface LoadOptions {
  /**
   * let a manifest name data files outside its own folder (refused by default: a shared task folder could name any
   * file)
   */
  allowOutside?: boolean;
}

async function loadManifest(file: string, problems: ProblemList, o: LoadOptions): Promise<Task[]> {
  let raw: unknown;
  try {
    const text = readFileSync(file, "utf8");
    raw = file.endsWith(".json") ? JSON.parse(text) : YAML.parse(text);
  } catch (e) {
    problems.add({ file, message: `malformed ${file.endsWith(".json") ? "JSON" : "YAML"}: ${(e as Error).message}` });
    return [];
  }
  const parsed = Manifest.safeParse(raw);
  if (!parsed.success) {
    for (const i of parsed.error.issues) problems.add({ file, field: i.path.join("."), message: i.message });
    return [];
  }
  const out: Task[] = [];
  for (const t of parsed.data.tasks) {
    const field = `tasks.${t.id}.file`;
    let data: string;
    if (isDatasetUri(t.file)) {
      try {
        data = resolveDatasetPath(t.file); // the Hugging Face cache, not the manifest's folder
      } catch (e) {
        problems.add({ file, field, message: (e as Error).message });
        continue;
      }
    } else {
      data = resolve(dirname(file), t.file);
      if (!existsSync(data)) {
        problems.add({ file, field, message: `${t.file} not found` });
        continue;
      }
      // through links too: a file inside the folder that links to /etc/passwd is outside it
      const folder = realpathSync(dirname(file));
      const target = realpathSync(data);
      const rel = relative(folder, target);
      if (!o.allowOutside && (rel.startsWith("..") || isAbsolute(rel))) {
        const link = target !== resolve(dirname(file), t.file) ? ` (a link to ${target})` : "";
        problems.add({
          file,
          field,
          message:
            `${t.file}${link} is outside the manifest's folder (${folder}); pass --allow-outside (or ` +
            "data.allow_outside: true in a spec) to read it",
        });
        continue;
      }
    }
    const {
      file: _f,
      text_column,
      label_column,
      id_column,
      group_column,
      positive,
      negative,
      splits,
      unlabelled,
      ...header
    } = t;
    const files = statSync(data).isDirectory() ? dataFilesUnder(data, splits) : [data];
    if (!files.length) {
      const which = splits ? ` of split ${splits.join(", ")}` : "";
      problems.add({ file, field, message: `${t.file} holds no .jsonl/.csv/.parquet file${which}` });
      continue;
    }
    const columns = { text_column, label_column, id_column, group_column, positive, negative };
    const source = isDatasetUri(t.file) ? t.file : data;
    out.push(...rowsToTasks(source, await mappedRows(files, columns, problems), header, problems, { unlabelled }));
  }
  return out;
}

/** Loads a data file, a manifest, or a folder holding a manifest (or data files whose rows carry their task). */
export async function loadPath(name: string, header?: TaskHeader, o: LoadOptions = {}): Promise<LoadResult> {
  const problems = new ProblemList();
  const tasks: Task[] = [];
  let path = name;
  if (isDatasetUri(name)) {
    try {
      path = resolveDatasetPath(name);
    } catch (e) {
      problems.add({ file: name, message: (e as Error).message.replace(`${name}: `, "") });
      return { tasks, problems };
    }
    // a dataset's own crossmon.yaml, or its data files at any depth (rows that carry their task)
    if (statSync(path).isDirectory() && !MANIFEST_NAMES.some((n) => existsSync(join(path, n)))) {
      const files = dataFilesUnder(path);
      if (!files.length) problems.add({ file: name, message: "holds no .jsonl/.csv/.parquet file" });
      else tasks.push(...rowsToTasks(name, await mappedRows(files, {}, problems), header ?? null, problems));
      return withUniqueIds(tasks, problems);
    }
  }
  if (!existsSync(path)) {
    problems.add({ file: path, message: "not found" });
    return { tasks, problems };
  }
  if (statSync(path).isDirectory()) {
    const manifest = MANIFEST_NAMES.map((n) => join(path, n)).find(existsSync);
    if (manifest) tasks.push(...(await loadManifest(manifest, problems, o)));
    else {
      const { readdirSync } = await import("node:fs");
      const files = readdirSync(path)
        .filter((f) => formatOf(f))
        .sort();
      if (!files.length)
        problems.add({ file: path, message: `no ${MANIFEST_NAMES[0]} and no .jsonl/.csv/.parquet file` });
      for (const f of files)
        tasks.push(...rowsToTasks(join(path, f), await readRows(join(path, f), problems), header ?? null, problems));
    }
  } else if (/\.(ya?ml|json)$/i.test(path)) tasks.push(...(await loadManifest(path, problems, o)));
  else tasks.push(...rowsToTasks(path, await readRows(path, problems), header ?? null, problems));
  return withUniqueIds(tasks, problems);
}

function withUniqueIds(tasks: Task[], problems: ProblemList): LoadResult {
  const seen = new Map<string, string>();
  for (const t of tasks) {
    if (seen.has(t.id))
      problems.add({ file: t.source, message: `task id "${t.id}" is also defined in ${seen.get(t.id)}` });
    seen.set(t.id, t.source);
  }
  return { tasks, problems };
}

/** Loads tasks or throws one InputError that lists the problems. */
export async function loadTasks(path: string, header?: TaskHeader, o: LoadOptions = {}): Promise<Task[]> {
  const r = await loadPath(path, header, o);
  r.problems.throwIfAny();
  if (!r.tasks.length) throw new InputError("no task found", path);
  return r.tasks;
}
