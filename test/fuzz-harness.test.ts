// The fuzz harness itself (scripts/fuzz.mjs, docs/fuzzing.md): a short seeded run over every
// format finds 0 BAD and reports each format's outcome counts; CI runs it for 60 s in .ci/run.
import { describe, it, expect } from "vitest";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { repoRoot } from "./support/corpus.js";

describe("npm run fuzz", () => {
  it("runs every reader on seeded mutations with 0 BAD, and the same seed gives the same counts (--count, --formats)", () => {
    const run = (...more: string[]) => spawnSync(process.execPath, [join(repoRoot, "scripts/fuzz.mjs"), "--seconds", "120", "--count", "10", "--seed", "7", ...more], {
      cwd: repoRoot, encoding: "utf8", timeout: 240_000,
    });
    const a = run();
    expect(a.stdout).toMatch(/fuzz: \d+ s, 0 BAD/);
    expect(a.status).toBe(0);
    const counts = (out: string) => out.split("\n").filter((l) => /inputs:/.test(l));
    expect(counts(a.stdout)).toHaveLength(13);
    for (const line of counts(a.stdout)) expect(line).toMatch(/ 10 inputs: \d+ accepted, \d+ refused with a place, 0 BAD$/);
    const again = counts(run("--formats", "raw,c").stdout);
    expect(again).toEqual(counts(a.stdout).filter((l) => /fuzz: (raw|c) /.test(l)));
  }, 600_000);
});
