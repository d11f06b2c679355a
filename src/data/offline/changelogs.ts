/** Debian package changelogs (changelog.Debian.gz under /usr/share/doc): security fixes, closed bug reports. */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { join } from "node:path";
import type { OfflineItem, OfflineSource } from "./common.js";

const DOC = "/usr/share/doc";
const CVE = /CVE-\d{4}-\d{4,}/i;
const CLOSES = /\(?\s*Closes:\s*#\d+(?:\s*,\s*#\d+)*\s*\)?/gi;

export const changelogSource: OfflineSource = {
  name: "changelogs",
  domain: "changelogs",
  locate: () => (existsSync(DOC) ? { where: DOC } : { absent: `${DOC} is missing` }),
  tasks: [
    {
      id: "changelog_security",
      prompt: "Here is an entry from a software changelog.\n\n{text}\n\nDoes this change fix a security vulnerability?",
      rule: "the entry names a CVE id; CVE ids are removed from the text",
    },
    {
      id: "changelog_closes",
      prompt: "Here is an entry from a software changelog.\n\n{text}\n\nDoes this change close a reported bug?",
      rule: 'the entry has "Closes: #N"; that mark is removed from the text',
    },
  ],
  read(where) {
    const items: OfflineItem[] = [];
    for (const pkg of readdirSync(where).sort()) {
      const f = join(where, pkg, "changelog.Debian.gz");
      if (!existsSync(f)) continue;
      let text: string;
      try {
        text = gunzipSync(readFileSync(f)).toString("utf8");
      } catch {
        continue;
      }
      text
        .split(/\n\s+\* /)
        .slice(1)
        .forEach((raw, i) => {
          const bullet = raw
            .split(/\n\s*\n| -- /)[0]
            .replace(/\s+/g, " ")
            .trim();
          if (bullet.length < 40) return;
          const security = CVE.test(bullet);
          const closes = /Closes:\s*#\d+/i.test(bullet);
          const cleaned = bullet
            .replace(new RegExp(CVE.source, "gi"), "")
            .replace(CLOSES, "")
            .replace(/\(\s*[,;]?\s*\)/g, "")
            .replace(/\s+/g, " ")
            .trim();
          if (cleaned.length < 30) return;
          items.push({
            id: `${pkg}#${i}`,
            text: cleaned.slice(0, 1200),
            labels: { changelog_security: security, changelog_closes: closes },
          });
        });
    }
    return items;
  },
};
