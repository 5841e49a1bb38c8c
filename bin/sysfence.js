#!/usr/bin/env node
// The `sysfence` command: runs the bundled CLI built by `npm install` (scripts/build.mjs).
import("../dist/cli.js").catch((err) => {
  if (err && err.code === "ERR_MODULE_NOT_FOUND") {
    process.stderr.write("sysfence: not built yet: run `npm install` (or `npm run build`) in the sysfence folder\n");
    process.exit(4);
  }
  throw err;
});
