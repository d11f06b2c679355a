/** Unix manual pages (Debian manpages, manpages-dev): system calls vs library functions; error sections. */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { join } from "node:path";
import { clip, type OfflineItem, type OfflineSource } from "./common.js";

const ROOT = "/usr/share/man";

/** Roff to plain paragraphs, each with the section heading it sits under. */
export function roffParagraphs(src: string): { section: string; text: string }[] {
  const out: { section: string; text: string }[] = [];
  let section = "";
  let cur: string[] = [];
  const flush = () => {
    const t = cur.join(" ").replace(/\s+/g, " ").trim();
    if (t) out.push({ section, text: t });
    cur = [];
  };
  for (const line of src.split("\n")) {
    if (line.startsWith(".SH")) {
      flush();
      section = line.slice(3).replace(/"/g, "").trim().toUpperCase();
    } else if (/^\.(PP|LP|P|TP|IP|SS|HP)\b/.test(line)) flush();
    else if (line.startsWith('.\\"') || line.startsWith("'\\\"")) continue;
    else if (line.startsWith(".")) {
      const arg = line.replace(/^\.\w+\s*/, "").replace(/"/g, "");
      if (/^\.(B|I|BR|IR|RB|BI|IB|RI)\b/.test(line)) cur.push(arg);
    } else cur.push(line);
  }
  flush();
  return out.map((p) => ({
    ...p,
    text: p.text
      .replace(/\\f[BIRP]|\\f\(..|\\\(..|\\[-&e|^]/g, (m) => (m === "\\-" ? "-" : m === "\\e" ? "\\" : ""))
      .replace(/\\\*\(\w\w|\\s[+-]?\d/g, ""),
  }));
}

export const manSource: OfflineSource = {
  name: "manpages",
  domain: "man_pages",
  locate: () =>
    existsSync(join(ROOT, "man2")) && existsSync(join(ROOT, "man3"))
      ? { where: ROOT }
      : { absent: `${ROOT}/man2 or man3 is missing (apt-get install manpages-dev)` },
  tasks: [
    {
      id: "man_syscall",
      prompt:
        "Here is a paragraph from a Unix manual page.\n\n{text}\n\nIs this paragraph from the documentation of a " +
        "Linux system call (rather than a C library function)?",
      rule: "page is in section 2 (vs section 3); DESCRIPTION paragraphs only",
    },
    {
      id: "man_errors",
      prompt:
        "Here is a paragraph from a Unix manual page.\n\n{text}\n\nDoes this paragraph describe an error condition?",
      rule: "paragraph sits under .SH ERRORS (vs DESCRIPTION); sections 2 and 3",
    },
  ],
  read(where) {
    const items: OfflineItem[] = [];
    for (const sec of ["man2", "man3"]) {
      for (const f of readdirSync(join(where, sec))
        .filter((x) => x.endsWith(".gz"))
        .sort()) {
        let src: string;
        try {
          src = gunzipSync(readFileSync(join(where, sec, f))).toString("utf8");
        } catch {
          continue;
        }
        if (src.startsWith(".so ")) continue; // an alias page
        roffParagraphs(src)
          .filter((p) => (p.section === "DESCRIPTION" || p.section === "ERRORS") && p.text.length >= 120)
          .forEach((p, i) =>
            items.push({
              id: `${sec}/${f.replace(/\.gz$/, "")}#${i}`,
              text: clip(p.text),
              // the section-2 question is asked of DESCRIPTION paragraphs only; others are never positives
              labels: {
                man_syscall: sec === "man2" && p.section === "DESCRIPTION",
                man_errors: p.section === "ERRORS",
              },
            }),
          );
      }
    }
    return items;
  },
};
