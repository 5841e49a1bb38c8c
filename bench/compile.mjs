// Bench section "compile": sysfence's policy compiler (src/policy, compilePolicyText) against
// libseccomp (levels 1 and 2) and the rust-vmm / Firecracker <= 1.10 linear layout, on the
// corpus policies: Firecracker's x86_64 and aarch64 filters (threads vmm, api, vcpu), Docker's
// default profile (moby) and containers-common's profile, both for x86_64 (which also gives
// x86 and x32 sections).
//
// Methodology.
// - Programs. sysfence: compilePolicyText(file, {arch}) (OCI: Docker's default capabilities,
//   minKernel against the running kernel). libseccomp: the SAME IR that sysfence compiles,
//   translated into python-seccomp calls (bench/compile/libseccomp.py, Debian's python3-seccomp,
//   apt-get installed at bench time if missing): SyscallFilter(default), ACT_BADARCH = the IR's
//   arch-mismatch action, add_arch per ABI, add_rule(action, name, Arg…) per IR rule,
//   CTL_OPTIMIZE 1 or 2, export_bpf. A seccompiler dword (32-bit) eq becomes MASKED_EQ with mask
//   0xffffffff (low-word semantics, as Firecracker >= 1.11 does), a dword masked_eq a MASKED_EQ
//   with the mask's low half. rust-vmm: bench/shapes.mjs rustVmmShape() from the Firecracker JSON
//   (the arch token patched for aarch64); not applicable to OCI profiles (one match action per
//   thread, no multi-ABI filters).
// - Executed instructions. Every program is run by sysfence's interpreter (evaluateBatch with
//   counts), so all compilers are measured the same way. Inputs, for every syscall number
//   0 .. syscallCount(arch)-1 of the target ABI (x32 numbers not included):
//     zero:    all arguments 0;
//     sat:     per rule with conditions, a vector satisfying it (the per-nr mean over these;
//              nrs without argument rules use the zero vector);
//     longest: the maximum over probe vectors: the cartesian product, per argument index, of the
//              values around every condition constant (v, v±1, v^1, the 64-bit halves flipped,
//              for masks the masked value with one mask bit flipped / other bits set, the high
//              word of 32-bit conditions clear and set), <= 20000 vectors per nr (else each
//              satisfying vector with one argument varied);
//   "worst" = the maximum of "longest" over all nrs; the means weigh every nr equally.
//   trace: the QEMU trace mix (corpus traces/*.strace.txt, both files): one call per line that
//   starts one, names mapped to numbers of the target ABI (calls whose name the ABI lacks are
//   left out and counted), arguments as printed when they are plain numbers, else 0.
//   Every result is also checked against the IR's reference evaluator (evaluatePolicy); the
//   "≠ref" column counts inputs where a program's action differs (syscalls that libseccomp
//   2.5.4 does not know, and so drops, are counted apart).
// - Targets (sysfence vs libseccomp level 2, per policy): length <= L2; worst <= L2;
//   trace-weighted mean <= 0.8 x L2.
// - Kernel cost (x86_64 host, x86_64 policies only): bench/native/cost.c, built with cc -O2.
//   One child process per filter (none, sysfence, L2, and in full mode L1 and rust-vmm), all
//   pinned to one CPU; each installs its raw filter (NO_NEW_PRIVS + seccomp(SET_MODE_FILTER))
//   and, when asked, times a batch of syscall() calls in a tight loop. The children take turns
//   batch by batch (order rotated), so drift in machine speed hits every filter alike; the median
//   over batches is reported. Calls: a cheap unconditionally allowed one (getppid, else gettid)
//   and an argument-checked one the policy allows (personality(0xffffffff), a pure query; else
//   futex(&w, FUTEX_WAKE_PRIVATE, 0), no waiters, returns 0). The kernel's action cache (5.11+)
//   answers an unconditionally allowed syscall without running the filter, so that case costs
//   the same under any filter (it doubles as a check of the noise); the argument-checked call
//   runs the filter every time and carries the target sysfence <= 1.0 x L2, judged on the median
//   of the per-batch sysfence/L2 ratios. When their interquartile range is wider than 0.1 (other
//   work on the machine), the policy is measured again, up to 3 times, keeping the quietest run.
// - Compile time: compilePolicyText of Docker's default profile for x86_64, aarch64 and s390x
//   (parse + frontend + compile), warm (after warm-up runs), median of >= 20 runs of the three;
//   target < 50 ms in total.
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import os from "node:os";
import { rustVmmShape, readFirecrackerJson, RUST_VMM_ANCHOR_LENGTHS } from "./shapes.mjs";
import { corpusDir, ensureOutDir, hasCorpus, median, formatTable } from "./lib.mjs";
import { policyCompiler } from "./compile/compiler.mjs";
import { syscallInputs, packInputs, targetSection, parseStrace } from "./compile/inputs.mjs";
import { ensurePythonSeccomp, toRequest, buildAll } from "./compile/libseccomp.mjs";
import { buildCost, runCost, jitState } from "./compile/kernel.mjs";

export const name = "compile";
export const title = "Policy compiler: size, executed instructions, kernel cost, compile time (vs libseccomp, rust-vmm)";

const ALLOW = 0x7fff0000;
const TARGET_TRACE = 0.8;
const TARGET_KERNEL = 1.0;
const TARGET_COMPILE_MS = 50;
/** Kernel cost: a paired-ratio IQR wider than this means the machine was busy; measure again. */
const NOISY_IQR = 0.1;
const MAX_ATTEMPTS = 3;
/** docs/evidence.md section 2: rust-vmm lengths for the main aarch64 file (x86_64: shapes.mjs). */
const RUST_VMM_AARCH64 = { vmm: 438, api: 213, vcpu: 221 };
/** docs/evidence.md §11 "Compiler": libseccomp 2.5.4 level 2 on Firecracker x86_64: length/worst/~mean. */
const L2_ANCHORS = { vmm: [195, 32, 14], api: [113, 23, 13], vcpu: [116, 32, 13] };

const FC = (arch) => ({
  group: `Firecracker ${arch} (seccompiler JSON, corpus filters/firecracker)`,
  file: `filters/firecracker/${arch}-unknown-linux-musl.json`,
  arch,
  fc: true,
});
const SOURCES = [
  FC("x86_64"),
  FC("aarch64"),
  { group: "OCI profiles for x86_64 (sections x86_64, x86, x32)", file: "profiles/moby-profiles-seccomp-default.json", arch: "x86_64", label: "docker default" },
  { group: "OCI profiles for x86_64 (sections x86_64, x86, x32)", file: "profiles/containers-common-seccomp.json", arch: "x86_64", label: "containers-common" },
];

const COMPILERS = ["sysfence", "libseccomp L1", "libseccomp L2", "rust-vmm linear"];

const mean = (xs) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : "-");
const f2 = (x) => (Number.isFinite(x) ? x.toFixed(2) : "-");
const pct = (x) => `${x >= 0 ? "+" : ""}${(x * 100).toFixed(1)}%`;

/** "met"/"MISSED (by …)" for value <= limit. */
function verdict(value, limit, unit = "") {
  if (!Number.isFinite(value) || !Number.isFinite(limit)) return { ok: undefined, text: "-" };
  if (value <= limit) return { ok: true, text: "met" };
  if (unit === "x") return { ok: false, text: `MISSED: ratio ${value.toFixed(4)} (+${((value / limit - 1) * 100).toFixed(2)}%)` };
  return { ok: false, text: `MISSED by ${f2(value - limit)}${unit} (${pct(value / limit - 1)})` };
}

export async function run(ctx) {
  const { api, quick, log } = ctx;
  if (!hasCorpus()) return { title, text: `skipped: test corpus not found at ${corpusDir}` };
  const { Program, InputBatch, evaluateBatch, syscallNumber, syscallCount, syscallName } = api;
  const pc = await policyCompiler(api, log);
  const out = ensureOutDir();
  const notes = [];
  const summary = [];

  // ---- programs ------------------------------------------------------------------------------
  const policies = [];
  for (const src of SOURCES) {
    const arch = pc.resolveArch(src.arch);
    const path = join(corpusDir, src.file);
    const text = readFileSync(path, "utf8");
    const res = pc.compilePolicyText(text, src.file.split("/").pop(), { arch });
    if (res.warnings.length) notes.push(`${src.file} (${arch.name}): ${res.warnings.length} frontend warning(s) (unknown names skipped, socketcall, absorbed rules)`);
    const fcJson = src.fc ? readFirecrackerJson(path) : undefined;
    for (const p of res.programs) {
      policies.push({
        id: `${arch.name}-${src.label ?? p.name}`.replace(/[^a-z0-9_.-]+/gi, "_"),
        label: src.fc ? `fc ${arch.name} ${p.name}` : `${src.label} ${arch.name}`,
        group: src.group,
        arch,
        ir: p.ir,
        programs: { sysfence: new Program(p.program.bytes) },
        thread: src.fc ? p.name : undefined,
        fcThread: fcJson?.[p.name],
      });
    }
  }

  // rust-vmm linear layout (Firecracker only).
  for (const p of policies) {
    if (!p.fcThread) continue;
    const nrOf = (n) => syscallNumber(p.arch.name, n);
    const insns = rustVmmShape(p.fcThread, nrOf);
    insns[1] = { ...insns[1], k: p.arch.token >>> 0 }; // shapes.mjs writes the x86_64 token
    const want = (p.arch.name === "x86_64" ? RUST_VMM_ANCHOR_LENGTHS : RUST_VMM_AARCH64)[p.thread];
    if (want !== undefined && insns.length !== want) notes.push(`rust-vmm shape of ${p.label}: ${insns.length} instructions, docs/evidence.md says ${want}`);
    p.programs["rust-vmm linear"] = Program.fromInsns(insns);
  }

  // libseccomp levels 1 and 2.
  const py = ensurePythonSeccomp(log);
  let libseccompNote;
  if (py.skip) {
    libseccompNote = `libseccomp skipped: ${py.skip}`;
    notes.push(libseccompNote);
  } else {
    const reqs = [];
    for (const p of policies) {
      for (const level of [1, 2]) {
        const r = toRequest(p.ir, `${p.id}/${level}`, level);
        reqs.push(r.filter);
        if (level === 1) {
          const n = r.notes;
          if (n.sameAsDefault) notes.push(`${p.label}: ${n.sameAsDefault} rule(s) with the default action left out for libseccomp (it refuses them)`);
          if (n.dupIndex) notes.push(`${p.label}: ${n.dupIndex} rule(s) with two conditions on one argument (libseccomp refuses them)`);
          if (n.approx32) notes.push(`${p.label}: ${n.approx32} 32-bit non-eq condition(s) compared as 64-bit by libseccomp`);
        }
      }
    }
    log(`compile: building ${reqs.length} libseccomp filters (${py.version})`);
    const built = buildAll(py.python, reqs);
    for (const p of policies) {
      p.libseccompDropped = new Set();
      for (const level of [1, 2]) {
        const r = built.results[`${p.id}/${level}`];
        if (!r || r.error) {
          notes.push(`${p.label}: libseccomp level ${level} failed: ${r?.error ?? "no result"}`);
          continue;
        }
        p.programs[`libseccomp L${level}`] = new Program(r.bytes);
        for (const s of r.skipped) {
          if (!s.arches.includes(p.arch.name)) continue;
          if (/errno = -22\b/.test(s.error)) p.libseccompDropped.add(s.name);
          else if (level === 1) notes.push(`${p.label}: libseccomp refused a rule for ${s.name} on ${s.arches.join("+")}: ${s.error}`);
        }
      }
      if (p.libseccompDropped.size) {
        notes.push(`${p.label}: ${py.version.split(" (")[0]} does not know ${[...p.libseccompDropped].join(", ")} (EINVAL); left out of its filters (as runc does), so they get the default action there`);
      }
    }
  }

  // ---- the trace mix ---------------------------------------------------------------------------
  const traceDir = join(corpusDir, "traces");
  const traceFiles = readdirSync(traceDir).filter((f) => f.endsWith(".strace.txt")).sort();
  const traceCalls = traceFiles.flatMap((f) => parseStrace(readFileSync(join(traceDir, f), "utf8")));
  const traceNames = new Set(traceCalls.map((c) => c.name));

  // ---- executed instructions -------------------------------------------------------------------
  for (const p of policies) {
    log(`compile: evaluating ${p.label}`);
    const section = targetSection(p.ir, p.arch);
    const count = syscallCount(p.arch.name);
    const gen = syscallInputs(section, count, pc.conditionHolds, { limit: quick ? 4000 : 20000 });
    if (gen.fallbacks) notes.push(`${p.label}: ${gen.fallbacks} syscall(s) with too many probe combinations; probed one argument at a time`);
    const trace = [];
    let unmapped = 0;
    for (const c of traceCalls) {
      const nr = syscallNumber(p.arch.name, c.name);
      if (nr === undefined) unmapped++;
      else trace.push({ nr: (nr + p.arch.nrBase) >>> 0, args: c.args });
    }
    p.traceCoverage = { used: trace.length, total: traceCalls.length, unmapped };
    const all = [...gen.inputs, ...trace];
    const nSys = gen.inputs.length;
    const batch = new InputBatch(all.length, packInputs(all, p.arch.token));
    const ref = all.map((x) => pc.evaluatePolicy(p.ir, { arch: p.arch.token, nr: x.nr, args: x.args }) >>> 0);
    const dropped = new Set([...(p.libseccompDropped ?? [])].map((n) => (syscallNumber(p.arch.name, n) + p.arch.nrBase) >>> 0));
    p.metrics = {};
    for (const [cname, prog] of Object.entries(p.programs)) {
      const { rets, counts } = evaluateBatch(prog, batch, { counts: true });
      let worst = -1, worstNr = 0;
      const longest = [], zero = [], sat = [], satChecked = [];
      for (const e of gen.bySyscall) {
        let m = 0;
        for (const i of e.probe) m = Math.max(m, counts[i]);
        longest.push(m);
        if (m > worst) {
          worst = m;
          worstNr = e.nr;
        }
        zero.push(counts[e.zero]);
        sat.push(e.sat.length ? mean(e.sat.map((i) => counts[i])) : counts[e.zero]);
        if (e.sat.length) satChecked.push(sat[sat.length - 1]);
      }
      let traceSum = 0;
      for (let i = nSys; i < all.length; i++) traceSum += counts[i];
      let diff = 0, diffDropped = 0;
      for (let i = 0; i < all.length; i++) {
        if (rets[i] >>> 0 === ref[i]) continue;
        if (cname.startsWith("libseccomp") && dropped.has(all[i].nr)) diffDropped++;
        else diff++;
      }
      p.metrics[cname] = {
        length: prog.length, worst, worstAt: syscallName(p.arch.name, worstNr - p.arch.nrBase) ?? `#${worstNr}`,
        worstZero: Math.max(...zero), meanLongest: mean(longest), meanZero: mean(zero), meanSat: mean(sat), meanSatChecked: mean(satChecked), checkedNrs: satChecked.length,
        trace: trace.length ? traceSum / trace.length : NaN, diff, diffDropped, inputs: all.length,
      };
      writeFileSync(join(out, `compile-${p.id}-${cname.replace(/[^a-z0-9]+/gi, "_")}.bpf`), prog.bytes);
    }
  }

  // ---- tables per group ------------------------------------------------------------------------
  const sections = [];
  const groups = [...new Set(policies.map((p) => p.group))];
  for (const g of groups) {
    const ps = policies.filter((p) => p.group === g);
    const rows = [];
    for (const p of ps) {
      for (const c of COMPILERS) {
        const m = p.metrics[c];
        if (!m) continue;
        rows.push([
          p.label, c, String(m.length), `${m.worst} (${m.worstAt})`, f1(m.meanLongest), f1(m.meanZero), f1(m.meanSat),
          `${f1(m.meanSatChecked)} (${m.checkedNrs})`, f1(m.trace),
          m.diffDropped ? `${m.diff} (+${m.diffDropped} dropped)` : String(m.diff),
        ]);
      }
    }
    const columns = [
      { title: "policy", align: "l" }, { title: "compiler", align: "l" }, { title: "insns" }, { title: "worst (at)" },
      { title: "mean longest" }, { title: "mean zero" }, { title: "mean sat" }, { title: "sat, checked nrs (n)" },
      { title: "trace mean" }, { title: "≠ref" },
    ];
    // Targets against libseccomp level 2.
    const trows = [];
    for (const p of ps) {
      const s = p.metrics.sysfence, l2 = p.metrics["libseccomp L2"];
      if (!l2) {
        trows.push([p.label, "-", "-", "-", "-", "-", "-"]);
        continue;
      }
      const vl = verdict(s.length, l2.length, " insns");
      const vw = verdict(s.worst, l2.worst, " insns");
      const vt = verdict(s.trace, TARGET_TRACE * l2.trace, " insns");
      const rl = s.length / l2.length, rw = s.worst / l2.worst, rt = s.trace / l2.trace;
      trows.push([p.label, `${f2(rl)}x`, vl.text, `${f2(rw)}x`, vw.text, `${f2(rt)}x`, vt.text]);
      summary.push({ what: `${p.label}: length <= L2 (${s.length} vs ${l2.length})`, v: vl });
      summary.push({ what: `${p.label}: worst executed <= L2 (${s.worst} vs ${l2.worst})`, v: vw });
      summary.push({ what: `${p.label}: trace mean <= ${TARGET_TRACE} x L2 (${f2(s.trace)} vs limit ${f2(TARGET_TRACE * l2.trace)} = ${TARGET_TRACE} x ${f2(l2.trace)})`, v: vt });
    }
    const tcolumns = [
      { title: "policy", align: "l" }, { title: "len/L2" }, { title: "target <= 1", align: "l" },
      { title: "worst/L2" }, { title: "target <= 1", align: "l" }, { title: "trace/L2" }, { title: `target <= ${TARGET_TRACE}`, align: "l" },
    ];
    const cov = ps[0].traceCoverage;
    sections.push([
      `-- ${g}`,
      formatTable(columns, rows),
      "",
      formatTable(tcolumns, trows),
      `trace mix: ${cov.used} of ${cov.total} calls used${cov.unmapped ? ` (${cov.unmapped} with names ${ps[0].arch.name} lacks left out)` : ""}`,
    ].join("\n"));
  }

  // Anchor check: libseccomp level 2 on Firecracker x86_64 (docs/evidence.md §11 "Compiler").
  const anchorLines = [];
  for (const p of policies.filter((x) => x.fcThread && x.arch.name === "x86_64")) {
    const m = p.metrics["libseccomp L2"];
    const a = L2_ANCHORS[p.thread];
    if (m && a) anchorLines.push(`${p.thread} ${m.length}/${m.worstZero}/${f1(m.meanZero)} (anchor ${a[0]}/${a[1]}/~${a[2]})`);
  }

  // ---- kernel cost -----------------------------------------------------------------------------
  const kernelText = [];
  const cost = process.arch === "x64" && process.platform === "linux" ? buildCost(out) : { skip: "not an x86_64 Linux host" };
  if (cost.skip) {
    kernelText.push(`kernel cost skipped: ${cost.skip}`);
  } else {
    const iters = quick ? 5_000 : 10_000;
    const batches = quick ? 20 : 100;
    const krows = [];
    const callNotes = new Set();
    for (const p of policies) {
      if (p.arch.name !== "x86_64") continue;
      const l2 = p.programs["libseccomp L2"];
      if (!l2) {
        kernelText.push(`${p.label}: no libseccomp level 2 filter; skipped`);
        continue;
      }
      const section = targetSection(p.ir, p.arch);
      const byName = new Map(section.syscalls.map((s) => [s.name, s]));
      /** [reference action, sysfence action, L2 action] and the executed counts per program. */
      const check = (nr, args) => {
        const b = new InputBatch(1, packInputs([{ nr, args }], p.arch.token));
        const ref = pc.evaluatePolicy(p.ir, { arch: p.arch.token, nr, args }) >>> 0;
        const exec = Object.fromEntries(Object.entries(p.programs).map(([c, prog]) => [c, evaluateBatch(prog, b, { counts: true })]));
        return { acts: [ref, exec.sysfence.rets[0] >>> 0, exec["libseccomp L2"].rets[0] >>> 0], exec };
      };
      const calls = [];
      // Cheap, unconditionally allowed (answered by the kernel's action cache).
      const plain = ["getppid", "gettid"].find((n) => {
        const s = byName.get(n);
        return s && s.rules.length && s.rules[0].conditions.length === 0 && s.rules[0].action >>> 0 === ALLOW;
      });
      if (plain) {
        const nr = syscallNumber("x86_64", plain);
        const c = check(nr, [0n, 0n, 0n, 0n, 0n, 0n]);
        if (c.acts.every((r) => r === ALLOW)) calls.push({ label: `${plain}()`, spec: `${nr}`, cached: true, exec: c.exec });
      } else kernelText.push(`${p.label}: neither getppid nor gettid is allowed unconditionally; no cached case`);
      // Argument-checked and allowed.
      const argCands = [
        { name: "personality", args: ["0xffffffff"], label: "personality(0xffffffff)" },
        { name: "futex", args: ["&", "129", "0"], label: "futex(&w, FUTEX_WAKE_PRIVATE, 0)" },
      ];
      let argCall;
      for (const cand of argCands) {
        const s = byName.get(cand.name);
        if (!s || !s.rules.some((r) => r.conditions.length)) continue;
        const args = [0n, 0n, 0n, 0n, 0n, 0n];
        cand.args.forEach((a, i) => (args[i] = a === "&" ? 0x1000n : BigInt(a))); // the address is not checked
        const c = check(syscallNumber("x86_64", cand.name), args);
        if (c.acts.every((r) => r === ALLOW)) {
          argCall = { label: cand.label, spec: [syscallNumber("x86_64", cand.name), ...cand.args].join(","), cached: false, exec: c.exec };
          break;
        }
      }
      if (argCall) calls.push(argCall);
      else kernelText.push(`${p.label}: none of ${argCands.map((c) => c.label).join(", ")} is argument-checked and allowed by sysfence and L2; skipped`);
      if (!calls.length) continue;
      const names = ["none", "sysfence", "libseccomp L2", ...(quick ? [] : ["libseccomp L1", "rust-vmm linear"])].filter(
        (c) => c === "none" || p.programs[c],
      );
      const files = names.map((c) => (c === "none" ? "none" : join(out, `compile-${p.id}-${c.replace(/[^a-z0-9]+/gi, "_")}.bpf`)));
      log(`compile: kernel cost of ${p.label} (${names.length} filters x ${calls.length} calls x ${batches} batches x ${iters} calls)`);
      const at = (n) => names.indexOf(n);
      /** Sorted per-batch sysfence/L2 ratios of call ci (the two ran back to back on one CPU). */
      const pairedOf = (r, ci) => {
        const a = r.ns[at("sysfence")][ci], b = r.ns[at("libseccomp L2")][ci];
        return a.map((x, i) => (x !== null && b[i] !== null ? x / b[i] : NaN)).filter(Number.isFinite).sort((x, y) => x - y);
      };
      const quant = (xs, f) => xs[Math.min(xs.length - 1, Math.floor(f * xs.length))];
      const spread = (r) => Math.max(...calls.map((_, ci) => {
        const xs = pairedOf(r, ci);
        return xs.length ? quant(xs, 0.75) - quant(xs, 0.25) : Infinity;
      }));
      // Other work on the machine shows as a wide spread of the paired ratios: measure again
      // (up to MAX_ATTEMPTS times) and keep the quietest run.
      let r, attempts = 0;
      for (let k = 0; k < (quick ? 1 : MAX_ATTEMPTS); k++) {
        const rk = runCost(cost.bin, { iters, batches, filters: files, calls: calls.map((c) => c.spec) });
        attempts++;
        if (!r || spread(rk) < spread(r)) r = rk;
        if (spread(r) <= NOISY_IQR) break;
        log(`compile: ${p.label}: noisy (paired IQR width ${f2(spread(rk))}), measuring again`);
      }
      if (attempts > 1) kernelText.push(`${p.label}: measured ${attempts} times (noisy machine), quietest run kept`);
      names.forEach((n, fi) => {
        if (r.fail[fi]) kernelText.push(`${p.label}: the child for ${n} failed (${r.fail[fi]})`);
      });
      calls.forEach((c, ci) => {
        const med = (n) => (at(n) >= 0 ? median(r.ns[at(n)][ci].filter((x) => x !== null)) : NaN);
        const sf = med("sysfence"), l2v = med("libseccomp L2"), none = med("none");
        const paired = pairedOf(r, ci);
        const q = (f) => quant(paired, f);
        const ratioMed = paired.length ? median(paired) : sf / l2v;
        const v = c.cached ? { text: "(cached: info only)" } : verdict(ratioMed, TARGET_KERNEL, "x");
        if (v.ok === false && paired.length && q(0.25) <= TARGET_KERNEL) {
          v.text += "; within noise (IQR reaches 1.00)";
          v.noise = true;
        }
        if (!c.cached) summary.push({ what: `${p.label}: kernel ns/call of ${c.label} <= ${TARGET_KERNEL} x L2 (${f1(sf)} vs ${f1(l2v)} ns)`, v });
        const ret = r.ret[at("sysfence")][ci], err = r.err[at("sysfence")][ci];
        callNotes.add(`${c.label} returns ${c.cached ? "its id" : ret}${ret === -1 ? ` (errno ${err})` : ""}`);
        const ex = (n) => (c.exec[n] ? String(c.exec[n].counts[0]) : "-");
        krows.push([
          p.label, c.label, c.cached ? "yes" : "no", `${ex("sysfence")}/${ex("libseccomp L2")}/${ex("libseccomp L1")}/${ex("rust-vmm linear")}`,
          f1(none), f1(sf), f1(l2v), f1(med("libseccomp L1")), f1(med("rust-vmm linear")),
          f1(sf - none), f1(l2v - none), `${f2(ratioMed)}x`,
          paired.length ? `${f2(q(0.25))}..${f2(q(0.75))}${q(0.75) - q(0.25) > NOISY_IQR ? " noisy" : ""}` : "-", v.text,
        ]);
      });
    }
    const kcols = [
      { title: "policy", align: "l" }, { title: "syscall", align: "l" }, { title: "cached" }, { title: "exec sf/L2/L1/rv" }, { title: "none ns" },
      { title: "sysfence ns" }, { title: "L2 ns" }, { title: "L1 ns" }, { title: "rust-vmm ns" }, { title: "sf-none" }, { title: "L2-none" },
      { title: "sf/L2" }, { title: "IQR" }, { title: `target sf/L2 <= ${TARGET_KERNEL}`, align: "l" },
    ];
    kernelText.unshift(
      formatTable(kcols, krows),
      `ns per call: median over ${batches} batches of ${iters} calls per filter; one child per filter, all pinned to one CPU, taking turns ` +
        `batch by batch (order rotated per batch); sf/L2 = median of the per-batch sysfence/L2 ratios (paired: the two ran back to back), IQR = their interquartile range; ` +
        `exec = BPF instructions the path executes (interpreter); ${cost.cc} -O2; bpf_jit_enable = ${jitState()}; ` +
        `load average at the end ${os.loadavg().map((x) => x.toFixed(2)).join(" ")}; ` +
        `aarch64 policies not measured (not the host's ABI)`,
      `calls: ${[...callNotes].join("; ")}`,
      "note: the kernel's action cache answers an unconditionally allowed syscall (getppid/gettid here) from a per-filter bitmap " +
        "without running the filter, so it costs the same under any filter; the argument-checked call runs the filter every time " +
        "and is the informative case.",
    );
  }

  // ---- compile time ----------------------------------------------------------------------------
  const dockerFile = "profiles/moby-profiles-seccomp-default.json";
  const dockerText = readFileSync(join(corpusDir, dockerFile), "utf8");
  const targets = ["x86_64", "aarch64", "s390x"].map((a) => pc.resolveArch(a));
  const compileOnce = () => targets.map((arch) => {
    const t0 = process.hrtime.bigint();
    const r = pc.compilePolicyText(dockerText, "moby-profiles-seccomp-default.json", { arch });
    const t1 = process.hrtime.bigint();
    return { ms: Number(t1 - t0) / 1e6, r };
  });
  const runs = quick ? 20 : 40;
  const warm = 20; // V8 needs about this many rounds to reach its optimised tiers
  log(`compile: timing ${runs} compiles of the Docker default profile x 3 arches`);
  for (let i = 0; i < warm; i++) compileOnce();
  const per = targets.map(() => []);
  const totals = [];
  const irOnly = targets.map(() => []);
  let lastR;
  for (let i = 0; i < runs; i++) {
    const res = compileOnce();
    res.forEach((x, j) => per[j].push(x.ms));
    totals.push(res.reduce((a, x) => a + x.ms, 0));
    lastR = res;
  }
  // compileIR alone (the engine's part), for the breakdown.
  for (let i = 0; i < runs; i++) {
    lastR.forEach((x, j) => {
      const t0 = process.hrtime.bigint();
      pc.compileIR(x.r.programs[0].ir);
      irOnly[j].push(Number(process.hrtime.bigint() - t0) / 1e6);
    });
  }
  const totalMed = median(totals);
  const vc = verdict(totalMed, TARGET_COMPILE_MS, " ms");
  summary.push({ what: `compile time, Docker default x86_64+aarch64+s390x < ${TARGET_COMPILE_MS} ms (${f2(totalMed)} ms)`, v: vc });
  const ccols = [{ title: "arch", align: "l" }, { title: "insns" }, { title: "median ms" }, { title: "min ms" }, { title: "compileIR median ms" }];
  const crows = targets.map((a, j) => [a.name, String(lastR[j].r.programs[0].program.length), f2(median(per[j])), f2(Math.min(...per[j])), f2(median(irOnly[j]))]);
  crows.push(["total", "", f2(totalMed), f2(Math.min(...totals)), f2(irOnly.reduce((s, xs) => s + median(xs), 0))]);
  const compileText = [
    formatTable(ccols, crows),
    `compilePolicyText (parse + OCI frontend + compile) from ${pc.source}; ${runs} timed runs after ${warm} warm-up runs; total = median of the per-run sums; ` +
      `target total < ${TARGET_COMPILE_MS} ms: ${vc.text}`,
  ].join("\n");

  // ---- summary -------------------------------------------------------------------------------
  const met = summary.filter((s) => s.v.ok === true).length;
  const missed = summary.filter((s) => s.v.ok === false);
  const text = [
    `programs: sysfence (${pc.source}); ${libseccompNote ?? `${py.version}, levels 1 and 2, same IR`}; rust-vmm = bench/shapes.mjs linear layout (Firecracker only)`,
    `inputs: every nr of the target ABI (zero / rule-satisfying / probe vectors), plus the QEMU trace mix (${traceCalls.length} calls, ${traceNames.size} syscall names, from ${traceFiles.join(", ")}); executed instructions counted by sysfence's interpreter for every compiler`,
    "columns: worst = max executed over all nrs and probe vectors (at: the syscall); mean longest/zero/sat = mean over nrs of the longest probe / all-zero args / rule-satisfying args; sat, checked nrs = the sat mean over only the n nrs that have argument rules; trace mean = mean over the trace mix; ≠ref = inputs whose action differs from the IR reference evaluator",
    "",
    sections.join("\n\n"),
    anchorLines.length
      ? `\nlibseccomp level 2 on Firecracker x86_64, length / worst over all-zero args / mean over all-zero args: ${anchorLines.join("; ")} ` +
        `(docs/evidence.md §11; the probe vectors above find longer paths than all-zero args)`
      : "",
    "",
    "-- kernel cost per syscall (ns, x86_64 policies)",
    kernelText.join("\n"),
    "",
    "-- compile time: Docker default profile (moby), warm",
    compileText,
    "",
    `-- summary: ${met} of ${summary.length} targets met${missed.length ? `, ${missed.length} MISSED` : ""}` +
      (missed.some((s) => s.v.noise) ? ` (${missed.filter((s) => s.v.noise).length} of them within the kernel measurement's noise)` : ""),
    ...summary.map((s) => `  ${s.v.ok === false ? "MISSED" : s.v.ok ? "met   " : "-     "}  ${s.what}${s.v.ok === false ? `: ${s.v.text.replace(/^MISSED:? /, "")}` : ""}`),
    ...notes.map((n) => `note: ${n}`),
  ].join("\n");
  return { title, text, summary: summary.map((s) => ({ what: s.what, ok: s.v.ok, text: s.v.text })) };
}
