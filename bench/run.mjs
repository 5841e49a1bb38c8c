#!/usr/bin/env node
// sysfence bench runner: `npm run bench` (all sections) or `node bench/run.mjs SECTION…`.
//
// Each section is a module in bench/ exporting `name`, `title` and `async run(ctx)`, which
// returns `{ title, text }` (and may add data). The runner builds the project if it is stale,
// runs the requested sections in order, logs progress on stderr, and prints one report on
// stdout. Add a section by writing bench/<name>.mjs and listing it in SECTIONS.
//
// Options: --quick (small runs, for a smoke test), --no-build (use dist/ as it is).
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import os from "node:os";
import { repoRoot } from "./lib.mjs";

/** Sections in report order. */
const SECTIONS = ["interp", "compile", "load", "verify", "explain", "replay", "launch", "live", "minijail"];

const argv = process.argv.slice(2);
const flags = new Set(argv.filter((a) => a.startsWith("--")));
const wanted = argv.filter((a) => !a.startsWith("--"));
for (const w of wanted) {
  if (!SECTIONS.includes(w)) {
    console.error(`bench: unknown section "${w}" (sections: ${SECTIONS.join(", ")})`);
    process.exit(2);
  }
}
const sections = wanted.length ? wanted : SECTIONS;

if (!flags.has("--no-build")) {
  // No-op when dist/ is newer than its sources (npm run bench has already done this).
  execFileSync(process.execPath, [join(repoRoot, "scripts", "build.mjs"), "--if-stale"], { stdio: "inherit" });
}
const distIndex = join(repoRoot, "dist", "index.js");
if (!existsSync(distIndex)) {
  console.error("bench: dist/index.js is missing; run `node scripts/build.mjs`");
  process.exit(2);
}
const api = await import(pathToFileURL(distIndex).href);

const ctx = {
  api,
  quick: flags.has("--quick"),
  log: (msg) => process.stderr.write(`[bench] ${msg}\n`),
};

/** The 1, 5 and 15 minute load averages: how busy the machine was while a section ran. */
const loadavg = () => os.loadavg().map((x) => x.toFixed(2)).join(" ");
const cpu = os.cpus()[0]?.model ?? "unknown CPU";
const header = [
  `sysfence bench — ${new Date().toISOString()}`,
  `node ${process.version} on ${os.platform()} ${os.arch()}, ${os.cpus().length} x ${cpu}${ctx.quick ? " (quick mode)" : ""}`,
  `load average at start: ${loadavg()} (timings on a loaded machine are slower and noisier)`,
];
const parts = [];
for (const s of sections) {
  const mod = await import(pathToFileURL(join(repoRoot, "bench", `${s}.mjs`)).href);
  ctx.log(`section ${s}: ${mod.title}`);
  const t0 = process.hrtime.bigint();
  const res = await mod.run(ctx);
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  parts.push(`== ${s}: ${res.title} (${secs.toFixed(1)} s, load average after: ${loadavg()})\n${res.text}`);
}
console.log([...header, "", parts.join("\n\n")].join("\n"));
