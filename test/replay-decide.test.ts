// Deciding calls with unknown values: the symbolic decider (exact) against brute force and
// against the probe fallback; which words matter for a syscall at all.
import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { randomPolicy, boundaryInputs, rng } from "./support/policygen.js";
import { compileIR } from "../src/policy/compile.js";
import { compilePolicyText } from "../src/policy/index.js";
import { InputBatch, encodeData, type SeccompData } from "../src/engine/data.js";
import { evaluateBatch } from "../src/engine/run.js";
import { SymbolicDecider, ProbeDecider, argOfWord, makeDecider } from "../src/replay/decide.js";
import { walk } from "../src/replay/walk.js";
import { Inconclusive } from "../src/verify/symbolic.js";
import { assemble } from "../src/text/asm.js";
import { findArch, syscallNumber } from "../src/syscalls/index.js";
import { corpusPath } from "./support/corpus.js";
import type { Program } from "../src/engine/program.js";

/** 16 words for a SeccompData (the filter's view). */
function words(d: SeccompData): Uint32Array {
  const w = new Uint32Array(16);
  encodeData(d, w, 0);
  return w;
}

/**
 * Checks one program on many inputs with random unknown words: every result of random
 * completions lies in the symbolic decision's set; the probe fallback never claims a result
 * outside it and, when it says exact, finds the same set; relevance from the walk covers the
 * symbolic one.
 */
function crossCheck(p: Program, inputs: SeccompData[], rand: () => number, label: string): { depends: number } {
  const sym = SymbolicDecider.create([p]);
  if (sym instanceof Inconclusive) throw new Error(`${label}: symbolic engine inconclusive: ${sym.reason}`);
  const probe = new ProbeDecider([p]);
  let depends = 0;
  for (const d of inputs) {
    const w = words(d);
    const rel = sym.relevantWords(w[1], w[0]);
    expect(probe.relevantWords(w[1], w[0]) & rel, `${label}: walk relevance covers the exact one`).toBe(rel);
    let unknown = 0;
    for (let a = -1; a < 6; a++) {
      if (rand() < 0.35) {
        const ws = a < 0 ? [2, 3] : [4 + 2 * a, 5 + 2 * a];
        for (const x of ws) unknown |= 1 << x;
      }
    }
    const dec = sym.decide(w, unknown & rel);
    expect(dec.exact).toBe(true);
    if (dec.rets.length > 1) depends++;
    // Completions: the unknown words replaced by values from other inputs and random ones.
    const n = 64;
    const batch = new InputBatch(n);
    for (let i = 0; i < n; i++) {
      const c = w.slice();
      for (let x = 2; x < 16; x++) {
        if (!(unknown & (1 << x))) continue;
        const src = inputs[Math.floor(rand() * inputs.length)];
        c[x] = rand() < 0.7 ? words(src)[x] : Math.floor(rand() * 0x100000000);
      }
      batch.words.set(c, i * 16);
    }
    const rets = evaluateBatch(p, batch).rets;
    for (const r of rets) expect(dec.rets, `${label}: completion result in the decided set`).toContain(r >>> 0);
    const pd = probe.decide(w, unknown & probe.relevantWords(w[1], w[0]));
    for (const r of pd.rets) expect(dec.rets, `${label}: probes find only real results`).toContain(r);
    if (pd.exact) expect(pd.rets, `${label}: exact probes find every result`).toEqual(dec.rets);
    // The arguments named are among the unknown ones.
    for (const a of dec.args) {
      const ws = a < 0 ? [2, 3] : [4 + 2 * a, 5 + 2 * a];
      expect(ws.some((x) => unknown & (1 << x))).toBe(true);
    }
  }
  return { depends };
}

describe("symbolic decisions are exact", () => {
  it("random compiled policies: completions, probes and relevance agree", () => {
    const seed = 0x5eed + 17;
    const rand = rng(seed);
    let depends = 0;
    for (let i = 0; i < 12; i++) {
      const ir = randomPolicy(rand);
      const p = compileIR(ir);
      depends += crossCheck(p, boundaryInputs(ir, rand, 150), rand, `seed ${seed} policy ${i}`).depends;
    }
    expect(depends).toBeGreaterThan(10); // the checks above did see "depends" cases
  });

  it("Firecracker's vmm filter (x86_64) on boundary inputs", () => {
    const file = corpusPath("filters", "firecracker", "x86_64-unknown-linux-musl.json");
    const x86_64 = findArch("x86_64")!;
    const r = compilePolicyText(readFileSync(file, "utf8"), file, { arch: x86_64, thread: "vmm" });
    const rand = rng(99);
    crossCheck(r.programs[0].program, boundaryInputs(r.programs[0].ir, rand, 400), rand, "firecracker vmm");
  });
});

describe("what the decision says", () => {
  const x86_64 = findArch("x86_64")!;
  // socket: AF_UNIX allowed, else ERRNO(13); ioctl: only request 0x5401; arg1 of openat checked.
  const p = assemble(`
    .arch x86_64
    ld arch
    jeq #AUDIT_ARCH_X86_64, ok, kill
ok: ld nr
    jeq #socket, sock
    jeq #ioctl, io
    jeq #openat, op
    ret ALLOW
sock: ld args[0].lo
    jeq #1, allow, eacces
io: ld args[1].lo
    jeq #0x5401, allow, eperm
op: ld args[1].hi
    jeq #0, allow, trap
allow: ret ALLOW
eacces: ret ERRNO(13)
eperm: ret ERRNO(1)
trap: ret TRAP(0)
kill: ret KILL_PROCESS
`);
  const w = (name: string, args: number[] = []): Uint32Array => {
    const x = new Uint32Array(16);
    x[0] = syscallNumber(x86_64, name)!;
    x[1] = x86_64.token;
    args.forEach((v, i) => (x[4 + 2 * i] = v));
    return x;
  };
  for (const kind of ["symbolic", "probe"] as const) {
    it(`${kind}: decided, denied, depends on the right argument`, () => {
      const d = makeDecider([p], kind);
      expect(d.method).toBe(kind);
      expect(d.relevantWords(x86_64.token, syscallNumber(x86_64, "read")!)).toBe(0);
      expect(d.relevantWords(x86_64.token, syscallNumber(x86_64, "socket")!)).toBe(1 << 4);
      expect(d.decide(w("socket", [2]), 0)).toEqual({ rets: [0x5000d], args: [], exact: true });
      expect(d.decide(w("socket"), 1 << 4)).toEqual({ rets: [0x5000d, 0x7fff0000], args: [0], exact: true });
      expect(d.decide(w("ioctl"), 1 << 6)).toEqual({ rets: [0x50001, 0x7fff0000], args: [1], exact: true });
      // openat checks the high word of arg1 (a pointer): unknown from a decoded string.
      expect(d.decide(w("openat"), (1 << 6) | (1 << 7))).toMatchObject({ rets: [0x30000, 0x7fff0000], args: [1] });
    });
  }
  it("a filter the symbolic engine gives up on: probes decide, marked not proven; --decider symbolic says so", () => {
    // a0 * a1 == 12345: a product of two input words is where BDD budgets run out.
    const mul = assemble(".arch x86_64\nld args[0].lo\ntax\nld args[1].lo\nmul x\njeq #12345, a, b\na: ret ALLOW\nb: ret ERRNO(1)\n");
    const budget = 1 << 14;
    const d = makeDecider([mul], "auto", budget);
    expect(d.method).toBe("probe");
    const x = new Uint32Array(16);
    x[1] = x86_64.token;
    expect(d.decide(x, (1 << 4) | (1 << 6))).toEqual({ rets: [0x50001, 0x7fff0000], args: [0, 1], exact: false });
    expect(() => makeDecider([mul], "symbolic", budget)).toThrow(/the symbolic engine cannot decide for this filter: the BDD node budget was exceeded/);
    try {
      makeDecider([mul], "symbolic", budget);
    } catch (e) {
      expect((e as { exitCode: number }).exitCode).toBe(3);
    }
  });

  it("the walk gives exact probes for raw compares, not for masked ones", () => {
    expect(walk(p, x86_64.token, syscallNumber(x86_64, "socket")!).exact).toBe(true);
    const masked = assemble(".arch x86_64\nld args[2].lo\nand #4\njeq #0, a, b\na: ret ALLOW\nb: ret ERRNO(1)\n");
    const r = walk(masked, x86_64.token, 9);
    expect(r.exact).toBe(false);
    expect(r.reads).toBe(1 << 8);
    expect(r.probes.get(8)).toEqual(expect.arrayContaining([0, 4, 0xffffffff]));
  });
});
