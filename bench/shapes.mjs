// Bench fixtures: "Firecracker-shaped" seccomp programs, built here until sysfence's own compiler
// exists, plus the largest libseccomp golden filters of the vendored test corpus.
//
// 1. rustVmmShape(): the rust-vmm / Firecracker <= 1.10 code shape (
//    docs/formats.md section 3): an arch check, then a linear chain of syscalls in ascending number,
//    one `ja` hop per rule passed, conditions evaluated last-first, 64-bit arguments split into
//    32-bit halves, the three-`ja` bridge when a rule's conditions would need a jump past 255.
//    For Firecracker's x86_64 filters this gives 443 / 213 / 271 instructions for vmm / api /
//    vcpu, the counts docs/evidence.md section 2 reports for that backend (checked by the bench).
// 2. treeShape(): a libseccomp-level-2-LIKE program for the same rules (docs/formats.md 4.3): the
//    x32 guard, then a balanced tree of `jgt` over the syscall numbers with leaves of up to four
//    `jeq` tested highest first, each syscall's rules after the tree. Not byte-compatible with
//    libseccomp (no block merging, no accumulator tracking; dword conditions compare the low
//    word only, as rust-vmm does), it is here for the cost profile of a tree dispatch.
// 3. goldenPrograms(): the largest raw filters in corpus libseccomp/golden-2.5.4 (built by
//    libseccomp 2.5.4 from its regression programs). None of the 34 goldens is a level-2 tree
//    (their PFC listings have no `$syscall >` node), hence (2).
//
// These are fixtures: they only need to be valid, deterministic and shaped like the real
// thing. Instructions are plain {code, jt, jf, k} objects.
import { readFileSync, readdirSync, existsSync } from "node:fs";
import { join } from "node:path";
import { parse } from "lossless-json";

// Opcodes used (classic BPF): the rust-vmm backend uses exactly these seven.
const LD_W_ABS = 0x20, ALU_AND_K = 0x54, JA = 0x05, JEQ_K = 0x15, JGT_K = 0x25, JGE_K = 0x35, RET_K = 0x06;

const AUDIT_ARCH_X86_64 = 0xc000003e;
const RET_KILL_PROCESS = 0x80000000;
const RET_KILL_THREAD = 0x00000000;

const ACTIONS = {
  allow: 0x7fff0000, trap: 0x00030000, log: 0x7ffc0000, kill_thread: 0x00000000, kill_process: 0x80000000,
};

/** A Firecracker action (`"trap"`, `{"errno": 1}`, …) as a 32-bit return value. */
function action(a) {
  if (typeof a === "string") {
    if (!(a in ACTIONS)) throw new Error(`unknown action ${a}`);
    return ACTIONS[a];
  }
  if ("errno" in a) return (0x00050000 | (Number(a.errno) & 0xffff)) >>> 0;
  if ("trace" in a) return (0x7ff00000 | (Number(a.trace) & 0xffff)) >>> 0;
  throw new Error(`unknown action ${JSON.stringify(a)}`);
}

const stmt = (code, k = 0) => ({ code, jt: 0, jf: 0, k: k >>> 0 });
const jump = (code, k, jt, jf) => ({ code, jt, jf, k: k >>> 0 });

/**
 * Reads a Firecracker seccompiler JSON file. Every number is parsed as a BigInt (`val` and
 * masks are u64; JSON.parse would round them above 2^53).
 */
export function readFirecrackerJson(path) {
  return parse(readFileSync(path, "utf8"), null, (s) => BigInt(s));
}

/**
 * Groups one thread's rules by syscall number, ascending (the rust-vmm BTreeMap); rules of a
 * syscall keep their JSON order. `nrOf(name)` gives the syscall number.
 */
function groupRules(thread, nrOf) {
  const bySyscall = new Map();
  for (const rule of thread.filter) {
    const nr = nrOf(rule.syscall);
    if (nr === undefined) throw new Error(`unknown syscall ${rule.syscall}`);
    if (!bySyscall.has(nr)) bySyscall.set(nr, []);
    bySyscall.get(nr).push(rule.args ?? []);
  }
  return [...bySyscall.entries()].sort((a, b) => a[0] - b[0]);
}

const lo32 = (v) => Number(v & 0xffffffffn);
const hi32 = (v) => Number((v >> 32n) & 0xffffffffn);

/**
 * One condition in the rust-vmm shape (docs/formats.md 3.3 table). `off` is the jump distance from
 * the condition's last instruction to the start of the next rule.
 */
function condition(c, off) {
  const L = 16 + 8 * Number(c.index);
  const H = L + 4;
  const qword = c.type === "qword";
  let val = c.val;
  let op = c.op;
  let mask;
  if (typeof op === "object") {
    mask = op.masked_eq;
    op = "masked_eq";
    val &= mask; // rust-vmm pre-masks val
  }
  const lo = lo32(val), hi = hi32(val);
  switch (op) {
    case "eq": return [
      ...(qword ? [stmt(LD_W_ABS, H), jump(JEQ_K, hi, 0, off + 2)] : []),
      stmt(LD_W_ABS, L), jump(JEQ_K, lo, 0, off)];
    case "ne": return [
      ...(qword ? [stmt(LD_W_ABS, H), jump(JEQ_K, hi, 0, 2)] : []),
      stmt(LD_W_ABS, L), jump(JEQ_K, lo, off, 0)];
    case "ge":
    case "gt": return [
      ...(qword ? [stmt(LD_W_ABS, H), jump(JGT_K, hi, 3, 0), jump(JEQ_K, hi, 0, off + 2)] : []),
      stmt(LD_W_ABS, L), jump(op === "ge" ? JGE_K : JGT_K, lo, 0, off)];
    case "le":
    case "lt": return [
      ...(qword ? [stmt(LD_W_ABS, H), jump(JGT_K, hi, off + 3, 0), jump(JEQ_K, hi, 0, 2)] : []),
      stmt(LD_W_ABS, L), jump(op === "le" ? JGT_K : JGE_K, lo, off, 0)];
    case "masked_eq": return [
      ...(qword ? [stmt(LD_W_ABS, H), stmt(ALU_AND_K, hi32(mask)), jump(JEQ_K, hi, 0, off + 3)] : []),
      stmt(LD_W_ABS, L), stmt(ALU_AND_K, lo32(mask)), jump(JEQ_K, lo, 0, off)];
    default: throw new Error(`unknown op ${JSON.stringify(c.op)}`);
  }
}

/** A rule's condition block plus `ret match`, built backwards as rust-vmm does (3.3, 3.4). */
function ruleBody(args, matchRet) {
  let body = [stmt(RET_K, matchRet)];
  let off = 1;
  for (const c of args) {
    // Long jumps: if the next condition could need a jump past 255, bridge with three `ja`s.
    if (off + 6 + 1 > 255) {
      body = [stmt(JA, 2), stmt(JA, off + 1), stmt(JA, off + 1), ...body];
      off = 1;
    }
    const code = condition(c, off);
    body = [...code, ...body];
    off += code.length;
  }
  return body;
}

/** The rust-vmm / Firecracker <= 1.10 program for one thread of a Firecracker JSON filter. */
export function rustVmmShape(thread, nrOf) {
  const match = action(thread.filter_action);
  const mismatch = action(thread.default_action);
  // Prologue (3.1): wrong arch -> KILL_PROCESS (hard-coded); no x32 guard.
  const out = [stmt(LD_W_ABS, 4), jump(JEQ_K, AUDIT_ARCH_X86_64, 1, 0), stmt(RET_K, RET_KILL_PROCESS), stmt(LD_W_ABS, 0)];
  for (const [nr, rules] of groupRules(thread, nrOf)) {
    // jeq #nr: a match enters the first rule, a miss lands on its "leave" jump.
    out.push(jump(JEQ_K, nr, 0, 1));
    const bodies = rules.map((args) => ruleBody(args, match));
    for (const body of bodies) {
      // "leave" jump at p: skips this rule's body (p+1 .. p+body.length) plus one more
      // instruction, landing on the next rule's leave jump (after its enter jump) or, for the
      // last rule, past `ret default` on the next syscall's jeq. Same distance either way.
      out.push(stmt(JA, 1), stmt(JA, body.length + 1), ...body);
    }
    out.push(stmt(RET_K, mismatch)); // listed syscall, no rule matched
  }
  out.push(stmt(RET_K, mismatch)); // syscall not listed
  return out;
}

// ---- level-2-like tree ---------------------------------------------------------------------

/**
 * Lays out instructions that jump to labels: items are {insn, jt?, jf?, ja?} (label names) or
 * {label}. Throws if a conditional jump would need more than 255 (a fixture bug).
 */
function link(items) {
  const at = new Map();
  let n = 0;
  for (const it of items) {
    if ("label" in it) at.set(it.label, n);
    else n++;
  }
  const out = [];
  for (const it of items) {
    if ("label" in it) continue;
    const pc = out.length;
    const rel = (l) => {
      const t = at.get(l);
      if (t === undefined) throw new Error(`no label ${l}`);
      const d = t - pc - 1;
      if (d < 0) throw new Error(`backward jump to ${l}`);
      return d;
    };
    const ins = { ...it.insn };
    if (it.ja !== undefined) ins.k = rel(it.ja);
    if (it.jt !== undefined) ins.jt = rel(it.jt);
    if (it.jf !== undefined) ins.jf = rel(it.jf);
    if (ins.jt > 255 || ins.jf > 255) throw new Error(`jump too long at ${pc}`);
    out.push(ins);
  }
  return out;
}

/** The level-2-like tree program for one thread (see the header). */
export function treeShape(thread, nrOf) {
  const match = action(thread.filter_action);
  const mismatch = action(thread.default_action);
  const groups = groupRules(thread, nrOf);
  const items = [];
  const I = (insn, j = {}) => items.push({ insn, ...j });
  // Prologue: arch check; libseccomp's x32 guard (nr >= 0x40000000 is bad arch unless nr == -1);
  // bad arch -> KILL_THREAD, libseccomp's default.
  I(stmt(LD_W_ABS, 4));
  I(jump(JEQ_K, AUDIT_ARCH_X86_64, 0, 0), { jf: "badarch" });
  I(stmt(LD_W_ABS, 0));
  I(jump(JGE_K, 0x40000000, 0, 0), { jf: "tree" });
  I(jump(JEQ_K, 0xffffffff, 0, 0), { jt: "tree", jf: "badarch" });
  items.push({ label: "tree" });
  I(stmt(LD_W_ABS, 0)); // the extra load at the top of the tree
  // Leaves of up to four syscalls; a balanced tree of `jgt K` (K = largest nr on the left).
  const leaves = [];
  for (let i = 0; i < groups.length; i += 4) leaves.push(groups.slice(i, i + 4).map(([nr]) => nr));
  let next = 0;
  const node = (lo, hi) => {
    const id = `n${next++}`;
    items.push({ label: id });
    if (hi - lo === 1) {
      const leaf = [...leaves[lo]].reverse(); // highest first
      for (const nr of leaf) I(jump(JEQ_K, nr, 0, 0), { jt: `sys${nr}`, jf: nr === leaf[leaf.length - 1] ? "default" : undefined });
      // the last jeq's miss goes to the default action; the others fall through (jf 0)
      return id;
    }
    const mid = Math.ceil((lo + hi) / 2);
    const leftMax = leaves[mid - 1][leaves[mid - 1].length - 1];
    const at = items.length;
    items.push(null); // placeholder for the jgt
    const right = node(mid, hi);
    const left = node(lo, mid);
    items[at] = { insn: jump(JGT_K, leftMax, 0, 0), jt: right, jf: left };
    return id;
  };
  if (leaves.length > 0) node(0, leaves.length);
  // Per-syscall blocks: rules in order, each condition low word only (masked when asked);
  // a failing condition tries the next rule, the last one the default action.
  for (const [nr, rules] of groups) {
    items.push({ label: `sys${nr}` });
    rules.forEach((args, r) => {
      const fail = r + 1 < rules.length ? `sys${nr}r${r + 1}` : "default";
      if (r > 0) items.push({ label: `sys${nr}r${r}` });
      for (const c of args) {
        const L = 16 + 8 * Number(c.index);
        let val = c.val;
        I(stmt(LD_W_ABS, L));
        if (typeof c.op === "object") {
          I(stmt(ALU_AND_K, lo32(c.op.masked_eq)));
          val &= c.op.masked_eq;
        } else if (c.op !== "eq") {
          throw new Error(`treeShape fixture handles eq and masked_eq only, not ${c.op}`);
        }
        I(jump(JEQ_K, lo32(val), 0, 0), { jf: fail });
      }
      I(stmt(RET_K, match));
    });
  }
  items.push({ label: "default" });
  I(stmt(RET_K, mismatch));
  items.push({ label: "badarch" });
  I(stmt(RET_K, RET_KILL_THREAD));
  return link(items);
}

// ---- corpus programs -----------------------------------------------------------------------

/** The `count` largest little-endian golden .bpf files, as raw bytes with their names. */
export function goldenPrograms(corpusDir, count = 2) {
  const dir = join(corpusDir, "libseccomp", "golden-2.5.4");
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith(".bpf") && !f.endsWith("_be.bpf"))
    .map((f) => ({ name: f.slice(0, -4), bytes: new Uint8Array(readFileSync(join(dir, f))) }))
    .sort((a, b) => b.bytes.length - a.bytes.length || a.name.localeCompare(b.name))
    .slice(0, count);
}

/** What docs/evidence.md section 2 reports for the rust-vmm backend on the main x86_64 file. */
export const RUST_VMM_ANCHOR_LENGTHS = { vmm: 443, api: 213, vcpu: 271 };

/**
 * Checks rustVmmShape against the worked example of docs/formats.md section 3.5 (read = 0,
 * ioctl = 16 on x86_64), instruction by instruction; throws on a difference.
 */
export function selfCheck() {
  const thread = {
    default_action: { errno: 1n }, filter_action: "allow", filter: [
      { syscall: "read" },
      { syscall: "ioctl", args: [{ index: 1n, type: "dword", op: "eq", val: 0x5401n }, { index: 0n, type: "qword", op: "ge", val: 3n }] },
      { syscall: "ioctl", args: [{ index: 1n, type: "dword", op: { masked_eq: 0xffn }, val: 1n }] },
    ],
  };
  const got = rustVmmShape(thread, (n) => ({ read: 0, ioctl: 16 })[n]);
  // [code, k, jt, jf] with absolute targets as in the reference listing.
  const A = 0x7fff0000, E = 0x00050001;
  const want = [
    [LD_W_ABS, 4], [JEQ_K, AUDIT_ARCH_X86_64, 3, 2], [RET_K, RET_KILL_PROCESS], [LD_W_ABS, 0],
    [JEQ_K, 0, 5, 6], [JA, 7], [JA, 9], [RET_K, A], [RET_K, E],
    [JEQ_K, 0x10, 10, 11], [JA, 12], [JA, 21], [LD_W_ABS, 20], [JGT_K, 0, 17, 14], [JEQ_K, 0, 15, 20],
    [LD_W_ABS, 16], [JGE_K, 3, 17, 20], [LD_W_ABS, 24], [JEQ_K, 0x5401, 19, 20], [RET_K, A],
    [JA, 22], [JA, 27], [LD_W_ABS, 24], [ALU_AND_K, 0xff], [JEQ_K, 1, 25, 26], [RET_K, A], [RET_K, E], [RET_K, E],
  ];
  const show = (i, x) => {
    if (x.code === JA) return [x.code, i + 1 + x.k];
    if ((x.code & 7) === 5) return [x.code, x.k, i + 1 + x.jt, i + 1 + x.jf];
    return [x.code, x.k];
  };
  const a = JSON.stringify(got.map((x, i) => show(i, x)));
  const b = JSON.stringify(want.map(([c, k, t, f]) => (t === undefined ? [c, k >>> 0] : [c, k >>> 0, t, f])));
  if (a !== b) throw new Error(`rustVmmShape does not reproduce docs/formats.md 3.5:\n got ${a}\nwant ${b}`);
}
