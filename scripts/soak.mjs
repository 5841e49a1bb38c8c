#!/usr/bin/env node
// `npm run soak`: the real-kernel differential tests (test/kernel-*.test.ts) at 100x their
// normal size: about 1M checker-vs-kernel programs plus 10 code sweeps, 10M interpreter
// (program, input) pairs and 2M stacked-filter inputs on x86_64; on the aarch64 and s390x guests
// (test/kernel-cross.test.ts) 1M checker cases, 5M evaluations and 150,000 stack inputs per arch,
// in 20 rounds of one boot each (hours under TCG). SYSFENCE_SOAK_FACTOR overrides the
// factor, SYSFENCE_SEED fixes the seed; extra arguments go to vitest.
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const factor = process.env.SYSFENCE_SOAK_FACTOR ?? "100";
const files = readdirSync(join(root, "test"))
  .filter((f) => /^kernel-.*\.test\.ts$/.test(f))
  .map((f) => join("test", f));

const build = spawnSync(process.execPath, [join(root, "scripts", "build.mjs"), "--if-stale"], { cwd: root, stdio: "inherit" });
if (build.status !== 0) process.exit(build.status ?? 1);

console.log(`soak: SYSFENCE_SOAK_FACTOR=${factor}, ${files.join(" ")}`);
const t0 = Date.now();
const r = spawnSync(
  process.execPath,
  [join(root, "node_modules", "vitest", "vitest.mjs"), "run", ...files, ...process.argv.slice(2)],
  { cwd: root, stdio: "inherit", env: { ...process.env, SYSFENCE_SOAK_FACTOR: factor } },
);
console.log(`soak: finished in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
process.exit(r.status ?? 1);
