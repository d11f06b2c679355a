/** Functions from the Python standard library on this machine: does a function raise, does it touch files. */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { OfflineItem, OfflineSource } from "./common.js";

const FILE_IO =
  /\bopen\(|os\.(remove|unlink|rename|mkdir|makedirs|rmdir|listdir|scandir)\(|shutil\.|\.write\(|\.read\(|io\.open\(/;

function pythonLib(): string | null {
  for (const v of ["3.13", "3.12", "3.11", "3.10", "3.9"]) {
    const p = `/usr/lib/python${v}`;
    if (existsSync(join(p, "os.py"))) return p;
  }
  return null;
}

/** Top-level and method `def` blocks, by indentation, with comments and docstrings left as they are. */
export function pythonFunctions(src: string): { name: string; text: string }[] {
  const lines = src.split("\n");
  const out: { name: string; text: string }[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = lines[i].match(/^(\s*)def (\w+)\(/);
    if (!m) continue;
    const indent = m[1].length;
    let j = i + 1;
    while (j < lines.length && (lines[j].trim() === "" || lines[j].match(/^\s*/)![0].length > indent)) j++;
    const text = lines
      .slice(i, j)
      .map((l) => l.slice(indent))
      .join("\n")
      .trimEnd();
    if (text.length >= 80 && text.length <= 3000) out.push({ name: m[2], text });
  }
  return out;
}

export const pythonSource: OfflineSource = {
  name: "python-stdlib",
  domain: "python_code",
  locate: () => {
    const p = pythonLib();
    return p ? { where: p } : { absent: "no /usr/lib/python3.x standard library" };
  },
  tasks: [
    {
      id: "py_raises",
      prompt:
        "Here is a Python function.\n\n{text}\n\nCan this function raise an exception itself (with a raise statement)?",
      rule: "the body contains a `raise` statement",
    },
    {
      id: "py_file_io",
      prompt: "Here is a Python function.\n\n{text}\n\nDoes this function read or write files?",
      rule: "the body calls open(, os.remove/rename/mkdir..., shutil., .read( or .write(",
    },
  ],
  read(where) {
    const items: OfflineItem[] = [];
    for (const f of readdirSync(where)
      .filter((x) => x.endsWith(".py"))
      .sort()) {
      let src: string;
      try {
        src = readFileSync(join(where, f), "utf8");
      } catch {
        continue;
      }
      pythonFunctions(src).forEach((fn, i) =>
        items.push({
          id: `${f}:${fn.name}#${i}`,
          text: fn.text,
          labels: { py_raises: /^\s+raise\b/m.test(fn.text), py_file_io: FILE_IO.test(fn.text) },
        }),
      );
    }
    return items;
  },
};
