// @frequency weights (minijail): the compiler balances its decision tree by call counts when
// they are given. Weights change the layout (frequent calls run fewer instructions), never the
// meaning: the weighted program is proven equal to the unweighted one.
import { describe, it, expect } from "vitest";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { policy } from "../src/policy/builder.js";
import { compileIR, compilePolicyText, compileWeighted, weightedMeanInstructions } from "../src/policy/index.js";
import { equal } from "../src/verify/relations.js";
import { syscallNumber } from "../src/syscalls/index.js";
import { findArch } from "../src/syscalls/arches.js";

const x86_64 = findArch("x86_64")!;
// Twelve syscalls far apart (one segment each) so the tree has several levels.
const NAMES = ["read", "mmap", "ioctl", "sched_yield", "dup", "getpid", "socket", "fcntl", "getdents", "gettimeofday", "epoll_wait", "getrandom"];

describe("@frequency weights", () => {
  it("a tiny policy: weights change the layout, lower the weighted mean, and keep the meaning", () => {
    const ir = policy({ arch: "x86_64", default: "errno(1)" }).allow(...NAMES).build();
    // Almost every call is getrandom, the highest number: the default tree puts it deepest.
    const weights = new Map<number, bigint>(NAMES.map((n) => [syscallNumber(x86_64, n)!, n === "getrandom" ? 1_000_000n : 1n]));
    const plain = compileIR(ir);
    const weighted = compileIR(ir, { weights });
    expect(Buffer.from(weighted.bytes)).not.toEqual(Buffer.from(plain.bytes));
    const mPlain = weightedMeanInstructions(ir, plain, weights);
    const mWeighted = weightedMeanInstructions(ir, weighted, weights);
    expect(mWeighted).toBeLessThan(mPlain);
    expect(equal(weighted, plain)).toMatchObject({ holds: true });
    // compileWeighted keeps the better layout.
    expect(Buffer.from(compileWeighted(ir, weights).bytes)).toEqual(Buffer.from(weighted.bytes));
  });

  it("a minijail policy's @frequency file weights compilePolicyText's tree (frequencyWeights: false turns it off)", () => {
    const dir = mkdtempSync(join(tmpdir(), "sysfence-freq-"));
    writeFileSync(join(dir, "p.frequency"), NAMES.map((n) => `${n}: ${n === "getrandom" ? 1000000 : 1}`).join("\n") + "\n");
    const text = `@frequency ./p.frequency\n${NAMES.map((n) => `${n}: 1`).join("\n")}\n`;
    const file = join(dir, "p.policy");
    writeFileSync(file, text);
    const w = compilePolicyText(text, file, { arch: "x86_64" });
    const u = compilePolicyText(text, file, { arch: "x86_64", frequencyWeights: false });
    expect(w.frequency?.size).toBe(NAMES.length);
    const p = w.programs[0];
    expect(weightedMeanInstructions(p.ir, p.program, w.frequency!)).toBeLessThan(weightedMeanInstructions(p.ir, u.programs[0].program, w.frequency!));
    expect(equal(p.program, u.programs[0].program)).toMatchObject({ holds: true });
  });
});
