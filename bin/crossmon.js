#!/usr/bin/env node
// The compiled CLI (npm install runs `tsc` through the prepare script).
import("../dist/src/cli/main.js").catch((e) => {
  if (e && e.code === "ERR_MODULE_NOT_FOUND" && String(e.message).includes("dist/src/cli/main.js")) {
    console.error("crossmon: not built yet; run `npm install` (or `npm run build`) in the crossmon folder");
    process.exit(1);
  }
  throw e;
});
