// Preloaded into the CLI runs of bench/live.mjs (NODE_OPTIONS=--require): at exit, appends this
// process's CPU time (user + system, ms) to the file named by SYSFENCE_BENCH_CPU_FILE. Wall time
// on a shared, loaded machine mostly measures the other tenants; CPU time is the cost of the run.
"use strict";
const { appendFileSync } = require("node:fs");
const file = process.env.SYSFENCE_BENCH_CPU_FILE;
if (file) {
  process.on("exit", () => {
    const u = process.cpuUsage();
    appendFileSync(file, `${(u.user + u.system) / 1000}\n`);
  });
}
