/** crossmon's cache folder on this machine: $CROSSMON_CACHE_DIR, else $XDG_CACHE_HOME/crossmon (~/.cache/crossmon). */
import { homedir } from "node:os";
import { join } from "node:path";

export function crossmonCacheDir(): string {
  return process.env.CROSSMON_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "crossmon");
}
