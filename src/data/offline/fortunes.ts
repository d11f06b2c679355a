/** Debian's fortune cookies (packages fortunes, fortunes-min): the category file each one comes from. */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { OfflineItem, OfflineSource } from "./common.js";

const DIR = "/usr/share/games/fortunes";
const TECH = ["computers", "linux", "linuxcookie", "perl", "debian", "debian-hints", "science", "knghtbrd"];
const LOVE = ["love", "men-women"];

export const fortuneSource: OfflineSource = {
  name: "fortunes",
  domain: "fortunes",
  locate: () =>
    existsSync(DIR) && readdirSync(DIR).some((f) => TECH.includes(f))
      ? { where: DIR }
      : { absent: `${DIR} has no category files (apt-get install fortunes)` },
  tasks: [
    {
      id: "fortune_tech",
      prompt: "Here is a fortune cookie.\n\n{text}\n\nIs this fortune about computers, software or science?",
      rule: `category file is one of ${TECH.join(", ")}`,
    },
    {
      id: "fortune_love",
      prompt: "Here is a fortune cookie.\n\n{text}\n\nIs this fortune about love or relationships?",
      rule: `category file is one of ${LOVE.join(", ")}`,
    },
  ],
  read(where) {
    const items: OfflineItem[] = [];
    for (const f of readdirSync(where).sort()) {
      const p = join(where, f);
      if (f.includes(".") || !statSync(p).isFile()) continue;
      readFileSync(p, "latin1")
        .split(/\n%\n/)
        .map((s) => s.trim())
        .filter((s) => s.length >= 20 && s.length <= 1200)
        .forEach((text, i) =>
          items.push({
            id: `${f}/${i}`,
            text,
            labels: { fortune_tech: TECH.includes(f), fortune_love: LOVE.includes(f) },
            meta: { file: f },
          }),
        );
    }
    return items;
  },
};
