// Bench section "interp": throughput of the engine's interpreter (assembly/interp.ts, driven
// through the public evaluateBatch) beside a plain-JS switch interpreter (bench/js-interp.mjs)
// and a native C switch interpreter (bench/native/interp.c, built with cc -O2), on
// Firecracker-shaped programs (bench/shapes.mjs) and the largest libseccomp golden filters.
//
// Inputs: every x86_64 syscall number 0 .. syscallCount-1 with all-zero arguments, plus, for
// every Firecracker rule with argument conditions (any thread), one input that satisfies the
// rule and one that breaks its first condition (val + 1 for eq, val ^ mask for masked_eq, as
// Firecracker's own validation tests do), so argument checks take both branches. The distinct
// inputs are tiled into one large batch and evaluated repeatedly: 1e6 .. 1e7 evaluations per
// timed run, sized by the program's cost. Warm-up runs first; the median of the timed runs is
// reported. All three implementations must produce the same results (FNV-1a checksum) and
// execute the same number of instructions (the engine's via evaluateBatch's counts).
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { decode, runBatch } from "./js-interp.mjs";
import { rustVmmShape, treeShape, goldenPrograms, readFirecrackerJson, selfCheck, RUST_VMM_ANCHOR_LENGTHS } from "./shapes.mjs";
import {
  benchDir, corpusDir, ensureOutDir, hasCorpus, timeRuns, median, fnv1a32, si, ratio, formatTable,
} from "./lib.mjs";

export const name = "interp";
export const title = "Interpreter throughput: engine (Wasm) vs plain JS vs native C";

/** Target printed beside the results (design goal, not a test). */
const TARGET_VS_C = 0.8;
const AUDIT_ARCH_X86_64 = 0xc000003e;
const WORDS = 16;

/** Compiles bench/native/interp.c; returns the binary's path, or a reason it cannot. */
function buildNative(out) {
  const src = join(benchDir, "native", "interp.c");
  const bin = join(out, "interp");
  const cc = process.env.CC ?? "cc";
  try {
    execFileSync(cc, ["-O2", "-std=c11", "-D_POSIX_C_SOURCE=199309L", "-o", bin, src], { stdio: ["ignore", "ignore", "pipe"] });
    return { bin, cc };
  } catch (e) {
    const why = e.code === "ENOENT" ? `no C compiler (${cc} not found)` : `${cc} failed: ${String(e.stderr ?? e.message).trim().split("\n")[0]}`;
    return { skip: why };
  }
}

/** The distinct inputs (see the header), as 16 words each. */
function buildInputs(fc, nrCount, nrOf) {
  const items = [];
  const push = (nr, args) => {
    const w = new Uint32Array(WORDS);
    w[0] = nr >>> 0;
    w[1] = AUDIT_ARCH_X86_64;
    for (const [i, v] of args) {
      w[4 + 2 * i] = Number(v & 0xffffffffn);
      w[5 + 2 * i] = Number((v >> 32n) & 0xffffffffn);
    }
    items.push(w);
  };
  for (let nr = 0; nr < nrCount; nr++) push(nr, []);
  const seen = new Set();
  for (const thread of Object.values(fc)) {
    for (const rule of thread.filter) {
      if (!rule.args?.length) continue;
      const key = rule.syscall + JSON.stringify(rule.args, (_, v) => (typeof v === "bigint" ? v.toString() : v));
      if (seen.has(key)) continue;
      seen.add(key);
      const nr = nrOf(rule.syscall);
      const pass = rule.args.map((c) => [Number(c.index), c.val]);
      push(nr, pass);
      const c0 = rule.args[0];
      const broken = typeof c0.op === "object" ? c0.val ^ c0.op.masked_eq : c0.val + 1n;
      push(nr, [[Number(c0.index), broken], ...pass.slice(1)]);
    }
  }
  const words = new Uint32Array(items.length * WORDS);
  items.forEach((w, i) => words.set(w, i * WORDS));
  return { words, count: items.length };
}

/** Repeats the D inputs to about `target` inputs (a whole number of copies). */
function tile(words, d, target) {
  const copies = Math.max(1, Math.floor(target / d));
  const out = new Uint32Array(copies * d * WORDS);
  for (let c = 0; c < copies; c++) out.set(words, c * d * WORDS);
  return { words: out, count: copies * d, copies };
}

export async function run(ctx) {
  const { api, quick, log } = ctx;
  const notes = [];
  if (!hasCorpus()) {
    return { title, text: `skipped: test corpus not found at ${corpusDir}` };
  }
  const { Program, InputBatch, evaluateBatch, syscallNumber, syscallCount } = api;
  if (typeof syscallNumber !== "function") throw new Error("dist/index.js lacks syscallNumber: rebuild (node scripts/build.mjs)");
  const nrOf = (n) => syscallNumber("x86_64", n);

  // ---- programs ---------------------------------------------------------------------------
  selfCheck(); // the rust-vmm fixture reproduces docs/formats.md 3.5 exactly
  const fcPath = join(corpusDir, "filters", "firecracker", "x86_64-unknown-linux-musl.json");
  const fc = readFirecrackerJson(fcPath);
  const programs = [];
  for (const t of ["vmm", "api", "vcpu"]) {
    const insns = rustVmmShape(fc[t], nrOf);
    if (insns.length !== RUST_VMM_ANCHOR_LENGTHS[t]) {
      notes.push(`fixture: rust-vmm shape of ${t} has ${insns.length} instructions, docs/evidence.md says ${RUST_VMM_ANCHOR_LENGTHS[t]}`);
    }
    programs.push({ name: `fc-${t} (rust-vmm linear)`, program: Program.fromInsns(insns) });
  }
  programs.push({ name: "fc-vmm (level-2-like tree)", program: Program.fromInsns(treeShape(fc.vmm, nrOf)) });
  for (const g of goldenPrograms(corpusDir, 2)) {
    programs.push({ name: `libseccomp ${g.name}`, program: new Program(g.bytes) });
  }

  // ---- inputs -------------------------------------------------------------------------------
  const nrCount = syscallCount("x86_64");
  const distinct = buildInputs(fc, nrCount, nrOf);
  const D = distinct.count;
  const distinctBatch = new InputBatch(D, distinct.words);
  const big = tile(distinct.words, D, quick ? 1 << 14 : 1 << 18);
  const bigBatch = new InputBatch(big.count, big.words);
  const runs = quick ? 3 : 5;
  const warmup = quick ? 1 : 2;
  const minEvals = quick ? 1e5 : 1e6;
  const maxEvals = quick ? 1e6 : 1e7;
  const targetInsns = quick ? 3e7 : 1.5e8; // per timed run; sets the evaluations between the bounds

  const out = ensureOutDir();
  const inputsFile = join(out, "interp-inputs.bin");
  writeFileSync(inputsFile, new Uint8Array(distinct.words.buffer));
  const native = buildNative(out);
  if (native.skip) notes.push(`native C skipped: ${native.skip}`);

  // The tree and the linear vmm programs must agree on every input (fixture sanity check).
  const lin = evaluateBatch(programs[0].program, distinctBatch).rets;
  const tree = evaluateBatch(programs[3].program, distinctBatch).rets;
  for (let i = 0; i < D; i++) {
    if (lin[i] !== tree[i]) throw new Error(`fixture bug: vmm tree and linear programs differ on input ${i}`);
  }

  // ---- measure ------------------------------------------------------------------------------
  const rows = [];
  const checksums = [];
  const results = [];
  for (const { name: pname, program } of programs) {
    log(`interp: ${pname}`);
    // Verification pass: results and executed instructions per input, from each implementation.
    const eng = evaluateBatch(program, distinctBatch, { counts: true });
    const insnsPerPass = eng.counts.reduce((a, b) => a + b, 0);
    const checksum = fnv1a32(eng.rets);
    const jsProg = decode(program.bytes);
    const jsRets = new Uint32Array(D);
    const jsCounts = new Uint32Array(D);
    runBatch(jsProg, distinct.words, D, jsRets, jsCounts);
    const jsInsns = jsCounts.reduce((a, b) => a + b, 0);
    if (fnv1a32(jsRets) !== checksum || jsInsns !== insnsPerPass) {
      throw new Error(`${pname}: JS interpreter disagrees with the engine (checksum ${fnv1a32(jsRets)} vs ${checksum}, insns ${jsInsns} vs ${insnsPerPass})`);
    }
    const meanInsns = insnsPerPass / D;
    const wantEvals = Math.min(maxEvals, Math.max(minEvals, targetInsns / meanInsns));
    const calls = Math.max(1, Math.round(wantEvals / big.count));
    const evals = calls * big.count;

    // Timed runs, interleaved (engine, JS, C, engine, JS, C, …) so that a change in machine
    // load hits all three alike. Engine: evaluateBatch over the tiled batch, `calls` times per
    // run. JS: the same loop over the same words. C: the same inputs and number of evaluations
    // per run, timed inside its own process (one warm-up run, then one timed run per round).
    let last;
    const engineRun = () => {
      for (let c = 0; c < calls; c++) last = evaluateBatch(program, bigBatch);
    };
    let lastInterp;
    const interpRun = () => {
      for (let c = 0; c < calls; c++) lastInterp = evaluateBatch(program, bigBatch, { engine: "interpreter" });
    };
    const jsOut = new Uint32Array(big.count);
    const jsRun = () => {
      for (let c = 0; c < calls; c++) runBatch(jsProg, big.words, big.count, jsOut);
    };
    const reps = calls * big.copies;
    let progFile;
    let cRes;
    const cRun = () => {
      const json = execFileSync(native.bin, [progFile, inputsFile, String(reps), "1", "1"], { encoding: "utf8" });
      const res = JSON.parse(json);
      let expectSum = 0;
      for (let i = 0; i < D; i++) expectSum = (expectSum + eng.rets[i]) >>> 0;
      expectSum = Number((BigInt(expectSum) * BigInt(reps)) & 0xffffffffn);
      if (res.checksum !== checksum || res.insns !== insnsPerPass || res.evals !== evals || res.sum !== expectSum) {
        throw new Error(`${pname}: native C disagrees with the engine (checksum ${res.checksum} vs ${checksum}, insns ${res.insns} vs ${insnsPerPass}, evals ${res.evals} vs ${evals}, sum ${res.sum} vs ${expectSum})`);
      }
      cRes = res;
      return res.times_ns[0];
    };
    if (!native.skip) {
      progFile = join(out, "interp-program.bin");
      writeFileSync(progFile, program.bytes);
    }
    timeRuns(engineRun, { runs: 0, warmup });
    timeRuns(interpRun, { runs: 0, warmup });
    timeRuns(jsRun, { runs: 0, warmup });
    const engTimes = [], intTimes = [], jsTimes = [], cTimes = [];
    for (let round = 0; round < runs; round++) {
      engTimes.push(...timeRuns(engineRun, { runs: 1, warmup: 0 }));
      intTimes.push(...timeRuns(interpRun, { runs: 1, warmup: 0 }));
      jsTimes.push(...timeRuns(jsRun, { runs: 1, warmup: 0 }));
      if (!native.skip) cTimes.push(cRun());
    }
    for (let i = 0; i < big.count; i++) {
      if (last.rets[i] !== eng.rets[i % D]) throw new Error(`${pname}: engine batch result ${i} differs from the verification pass`);
      if (lastInterp.rets[i] !== eng.rets[i % D]) throw new Error(`${pname}: interpreter batch result ${i} differs`);
      if (jsOut[i] !== eng.rets[i % D]) throw new Error(`${pname}: JS batch result ${i} differs`);
    }
    checksums.push(`${pname}: 0x${checksum.toString(16).padStart(8, "0")} over ${D} inputs, ${insnsPerPass} insns (engine = JS${cRes ? " = C" : ""})`);

    const eEv = evals / (median(engTimes) / 1e9);
    const iEv = evals / (median(intTimes) / 1e9);
    const jEv = evals / (median(jsTimes) / 1e9);
    const cEv = cRes ? evals / (median(cTimes) / 1e9) : NaN;
    results.push({ name: pname, length: program.length, meanInsns, evals, engine: eEv, js: jEv, c: cEv });
    rows.push([
      pname, String(program.length), meanInsns.toFixed(1), si(evals),
      si(eEv), si(eEv * meanInsns), si(iEv), ratio(iEv, cEv), si(jEv), si(jEv * meanInsns), si(cEv), si(cEv * meanInsns),
      ratio(eEv, jEv), ratio(eEv, cEv),
      cRes ? (eEv / cEv >= TARGET_VS_C ? "met" : "MISSED") : "-",
    ]);
  }

  const columns = [
    { title: "program", align: "l" }, { title: "insns" }, { title: "exec/eval" }, { title: "evals/run" },
    { title: "engine ev/s" }, { title: "engine insn/s" }, { title: "interp ev/s" }, { title: "interp/C" },
    { title: "JS ev/s" }, { title: "JS insn/s" },
    { title: "C ev/s" }, { title: "C insn/s" }, { title: "eng/JS" }, { title: "eng/C" },
    { title: `target eng/C>=${TARGET_VS_C}` },
  ];
  const text = [
    formatTable(columns, rows),
    "",
    `inputs: ${D} distinct (x86_64 nr 0..${nrCount - 1} + rule-satisfying/-breaking argument vectors), tiled to ${big.count} per batch; ` +
      `median of ${runs} interleaved runs after ${warmup} warm-up; engine = evaluateBatch incl. copies (large batches run the program compiled to Wasm: assembly/jit.ts); interp = the same with { engine: "interpreter" }; ` +
      `C = ${native.skip ? "skipped" : `${native.cc} -O2, loop timed inside the process`}`,
    "checksums (FNV-1a of the results of one pass; all implementations agree):",
    ...checksums.map((c) => "  " + c),
    ...notes.map((n) => "note: " + n),
  ].join("\n");
  return { title, text, results };
}
