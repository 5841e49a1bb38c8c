// Assertion files (`sysfence verify --spec sysfence.verify.json`): a repository states the
// invariants of its filters once, and CI checks them on every change.
//
//   {
//     "arch": "x86_64",                       // for policy JSON and syscall names (default: host)
//     "probeBypass": "uretprobe",             // as the kernel skips filters for uretprobe (bypass.ts)
//     "assertions": [
//       { "name": "vmm within api", "subset": ["vmm@fc.json", "api@fc.json"] },
//       { "stricter": ["new.bpf", "old.bpf"] },
//       { "equal": ["vmm.bpf", "vmm@fc.json"] },
//       { "stack": ["helper.bpf", "vmm.bpf"], "equals": "vmm.bpf" },
//       { "deny": "vmm@fc.json", "syscall": "execve" },            // for every argument
//       { "allow": "vmm@fc.json", "syscall": "ioctl", "args": [3, "0x5401"] },
//       { "lint": "vmm@fc.json", "fail": "warning" }               // error | warning | info
//     ]
//   }
//
// Paths are relative to the spec file. Each assertion passes, fails (with a counterexample or the
// findings) or is inconclusive; a failure that involves a syscall of a policy file points at the
// line of the rule for it, for CI annotations.
import { readBoundedText, SIZE_LIMITS } from "../read.js";
import { existsSync } from "node:fs";
import { dirname, resolve, isAbsolute, relative } from "node:path";
import { parse as losslessParse } from "lossless-json";
import type { Program } from "../engine/program.js";
import { InputBatch } from "../engine/data.js";
import { evaluateBatch } from "../engine/run.js";
import { formatRet } from "../engine/actions.js";
import { loadFilters, parseFilterSpec, isLiveSpec } from "../formats/detect.js";
import { resolveArch, resolveSyscall, syscallName, type ArchLike } from "../syscalls/index.js";
import { hostArch, type ArchInfo } from "../syscalls/arches.js";
import { loadPolicy } from "../policy/frontend.js";
import { currentPolicyDefaults } from "../policy/index.js";
import type { PolicyIR, SourceRef } from "../policy/ir.js";
import { InputError } from "../errors.js";
import { subset, stricter, equal, stackEquals, allows, Inconclusive, type Verdict } from "./relations.js";
import { lint, lintPolicy, SEVERITY_RANK, type Finding, type Severity } from "./lint.js";
import { SymbolicSpace, FALSE, TRUE } from "./symbolic.js";
import { toU64 } from "../traces/jsonl.js";
import { withProbeBypass, probeBypassOption, type ProbeBypass } from "./bypass.js";
import { refuseUnknownKeys, suggestion } from "../validate.js";

export type Status = "pass" | "fail" | "inconclusive";

export interface AssertionResult {
  name: string;
  status: Status;
  message: string;
  /** Where a CI annotation should point (the policy rule involved, else the spec entry). */
  file?: string;
  line?: number;
}

interface Ctx {
  dir: string;
  specFile: string;
  arch: ArchInfo;
  /** The kernel's uretprobe/uprobe exception applied to every filter but lint's (bypass.ts). */
  probeBypass: ProbeBypass;
  /**
   * Per-run memos. A spec names a few filters many times: without them each assertion re-read
   * and re-compiled its files (20,000 assertions on one policy took minutes), and identical
   * assertions re-ran their analysis. Keyed by the resolved FILTER and by the assertion's text.
   */
  programs: Map<string, Program>;
  irs: Map<string, PolicyIR | undefined>;
  results: Map<string, AssertionResult>;
}

/** `T@FILE` with FILE made relative to the spec file's folder. */
function filePath(ctx: Ctx, spec: string): string {
  if (isLiveSpec(spec)) return spec; // a running thread's stack, not a file
  const inDir = isAbsolute(spec) ? spec : resolve(ctx.dir, spec);
  // A path that exists as written wins over the T@FILE reading (a file name may contain '@').
  const { file, thread } = parseFilterSpec(spec.includes("@") && !isAbsolute(spec) && !existsSync(inDir) ? spec : inDir);
  const full = isAbsolute(file) ? file : resolve(ctx.dir, file);
  return thread === undefined ? full : `${thread}@${full}`;
}

function loadOne(ctx: Ctx, spec: string): Program {
  const full = filePath(ctx, spec);
  // A live stack (pid:) is read again each time: it may change between assertions.
  const known = isLiveSpec(full) ? undefined : ctx.programs.get(full);
  if (known) return known;
  const { file, thread } = parseFilterSpec(full);
  const list = loadFilters(file, { thread, arch: ctx.arch });
  if (list.length !== 1) throw new InputError(`holds ${list.length} filters: pick one with T@FILE`, spec);
  if (!isLiveSpec(full)) ctx.programs.set(full, list[0].program);
  return list[0].program;
}

/** A filter as the kernel runs it under the spec's probe bypass (relations, stacks, deny/allow). */
function seen(ctx: Ctx, p: Program): Program {
  return withProbeBypass(p, ctx.probeBypass);
}

/** The file of a FILTER spec (no thread), relative to the working directory, for annotations. */
function plainFile(ctx: Ctx, spec: string): string {
  return relative(process.cwd(), parseFilterSpec(filePath(ctx, spec)).file) || ".";
}

/** A rule's source file, relative to the working directory. */
function rel(file: string | undefined): string | undefined {
  return file === undefined ? undefined : relative(process.cwd(), file) || file;
}

/** The IR behind a FILTER spec when it is a policy file (for pointing at rules). */
function policyOf(ctx: Ctx, spec: string): PolicyIR | undefined {
  const full = filePath(ctx, spec);
  if (ctx.irs.has(full)) return ctx.irs.get(full);
  const ir = readPolicyOf(full, ctx.arch);
  ctx.irs.set(full, ir);
  return ir;
}

function readPolicyOf(full: string, arch: ArchInfo): PolicyIR | undefined {
  const { file, thread } = parseFilterSpec(full);
  try {
    const text = readBoundedText(file, SIZE_LIMITS.policy, "a policy file");
    if (!text.trimStart().startsWith("{")) return undefined;
    const { caps, kernel } = currentPolicyDefaults();
    const p = loadPolicy(text, file, { arch, thread, caps, kernel });
    return p.policies.size === 1 ? [...p.policies.values()][0] : undefined;
  } catch {
    return undefined;
  }
}

/** The source of the first rule for `syscall` in a policy, if any. */
function ruleSource(ir: PolicyIR | undefined, syscall: string | undefined): SourceRef | undefined {
  if (!ir || !syscall) return undefined;
  for (const sec of ir.arches) for (const s of sec.syscalls) if (s.name === syscall) return s.rules[0]?.source;
  return undefined;
}

function verdictResult(name: string, v: Verdict, blame: { ir?: PolicyIR; file: string }): AssertionResult {
  if (v instanceof Inconclusive) return { name, status: "inconclusive", message: v.reason };
  if (v.holds) return { name, status: "pass", message: "holds" };
  const cx = v.counterexample;
  const args = (cx.data.args ?? []).map((a) => "0x" + a.toString(16)).join(", ");
  const src = ruleSource(blame.ir, cx.syscall);
  return {
    name, status: "fail",
    message: `does not hold: ${cx.arch?.name ?? "arch 0x" + (cx.data.arch >>> 0).toString(16)} ${cx.syscall ?? "nr " + (cx.data.nr >>> 0)}(${args}) gives ${cx.results.map(formatRet).join(" vs ")}`,
    file: rel(src?.file) ?? blame.file, line: src?.line,
  };
}

const RANK = SEVERITY_RANK;

/** Each assertion kind: its key and the fields it may carry beside "name". */
const ASSERTION_FIELDS: Record<string, readonly string[]> = {
  subset: ["subset"], stricter: ["stricter"], equal: ["equal"], stack: ["stack", "equals"],
  deny: ["deny", "syscall", "args"], allow: ["allow", "syscall", "args"], lint: ["lint", "fail"],
};

/** The fields an assertion may have at all (for suggestions when its kind is unclear). */
const ALL_FIELDS = ["name", ...new Set(Object.values(ASSERTION_FIELDS).flat())];

/**
 * One assertion's shape: an object of exactly one kind, no field beside that kind's (a typo such
 * as "arg" would turn an assertion about some arguments into one about every argument), "args"
 * at most the 6 of struct seccomp_data. `at` is `FILE (/assertions/I` (the pointer is closed here).
 */
function validateAssertion(a: unknown, at: string): void {
  if (a === null || typeof a !== "object" || Array.isArray(a)) throw new InputError("an assertion must be a JSON object", `${at})`);
  const o = a as Record<string, unknown>;
  const kinds = Object.keys(ASSERTION_FIELDS).filter((k) => k in o);
  if (kinds.length > 1) throw new InputError(`one assertion per object, not ${kinds.map((k) => `"${k}"`).join(" and ")}`, `${at})`);
  if (kinds.length === 0) {
    const stray = Object.keys(o).find((k) => !ALL_FIELDS.includes(k));
    const hint = stray === undefined ? "" : `; "${stray}"${suggestion(stray, Object.keys(ASSERTION_FIELDS)) || " is not a field"}`;
    throw new InputError(`unknown assertion: it needs one of ${Object.keys(ASSERTION_FIELDS).join(", ")}${hint}`, `${at})`);
  }
  refuseUnknownKeys(o, ["name", ...ASSERTION_FIELDS[kinds[0]]], (k) => `${at}/${k})`);
  if (o.name !== undefined && typeof o.name !== "string") throw new InputError('"name" must be a string', `${at}/name)`);
  if (o.args !== undefined) {
    if (!Array.isArray(o.args)) throw new InputError('"args" must be an array of argument values', `${at}/args)`);
    if (o.args.length > 6) throw new InputError(`"args" has ${o.args.length} values; struct seccomp_data has 6`, `${at}/args)`);
    o.args.forEach((v, k) => toU64(v, `args[${k}]`, `${at}/args/${k})`));
  }
}

function runOne(ctx: Ctx, a: Record<string, unknown>, i: number): AssertionResult {
  const pair = (key: string): [string, string] => {
    const v = a[key];
    if (!Array.isArray(v) || v.length !== 2 || v.some((x) => typeof x !== "string")) {
      throw new InputError(`"${key}" takes two FILTER strings`, `${ctx.specFile} (/assertions/${i})`);
    }
    return [v[0] as string, v[1] as string];
  };
  const label = (s: string) => (typeof a.name === "string" ? a.name : s);
  if (a.subset || a.stricter || a.equal) {
    const key = a.subset ? "subset" : a.stricter ? "stricter" : "equal";
    const [x, y] = pair(key);
    const px = seen(ctx, loadOne(ctx, x));
    const py = seen(ctx, loadOne(ctx, y));
    const v = key === "subset" ? subset(px, py) : key === "stricter" ? stricter(px, py) : equal(px, py);
    return verdictResult(label(`${key} ${x} ${y}`), v, { ir: policyOf(ctx, x), file: plainFile(ctx, x) });
  }
  if (a.stack) {
    const list = a.stack;
    if (!Array.isArray(list) || typeof a.equals !== "string") throw new InputError('"stack" takes a list of FILTERs and "equals"', `${ctx.specFile} (/assertions/${i})`);
    // `pid:` entries give their whole stack, oldest first.
    const stack = list.flatMap((s) => isLiveSpec(String(s)) ? loadFilters(String(s), { arch: ctx.arch }).map((f) => f.program) : [loadOne(ctx, String(s))]);
    const v = stackEquals(stack.map((p) => seen(ctx, p)), seen(ctx, loadOne(ctx, a.equals)));
    return verdictResult(label(`stack ${list.join(", ")} = ${a.equals}`), v, { ir: policyOf(ctx, a.equals), file: plainFile(ctx, a.equals) });
  }
  if (typeof a.deny === "string" || typeof a.allow === "string") {
    const want = typeof a.deny === "string" ? "deny" : "allow";
    const spec = (a.deny ?? a.allow) as string;
    if (typeof a.syscall !== "string") throw new InputError('"deny"/"allow" need "syscall"', `${ctx.specFile} (/assertions/${i})`);
    const where = `${ctx.specFile} (/assertions/${i})`;
    const nr = resolveSyscall(ctx.arch, a.syscall, where);
    const p = seen(ctx, loadOne(ctx, spec));
    const name = label(`${want} ${a.syscall} by ${spec}`);
    const src = ruleSource(policyOf(ctx, spec), a.syscall);
    if (Array.isArray(a.args)) {
      const args = a.args.map((v, k) => toU64(v, `args[${k}]`, `${ctx.specFile} (/assertions/${i}/args/${k})`));
      const ret = evaluateBatch(p, InputBatch.of([{ nr, arch: ctx.arch.token, args }], ctx.arch.endian)).rets[0];
      const ok = allows(ret) === (want === "allow");
      return { name, status: ok ? "pass" : "fail", message: `${a.syscall}(${args.map((x) => "0x" + x.toString(16)).join(", ")}) gives ${formatRet(ret)}`, file: rel(src?.file) ?? plainFile(ctx, spec), line: src?.line };
    }
    // For every argument value: decided on the symbolic partition.
    const space = new SymbolicSpace();
    const outs = space.analyze(p);
    if (outs instanceof Inconclusive) return { name, status: "inconclusive", message: outs.reason };
    const allowed = space.union(outs.filter((o) => allows(o.value)).map((o) => o.set));
    const here = space.restrictWord(space.restrictWord(allowed, 1, ctx.arch.token), 0, nr);
    const ok = want === "deny" ? here === FALSE : here === TRUE;
    const msg = ok ? `${a.syscall} is ${want === "deny" ? "denied" : "allowed"} for every argument`
      : here === FALSE ? `${a.syscall} is never allowed` : here === TRUE ? `${a.syscall} is always allowed` : `${a.syscall} is allowed for some arguments only`;
    return { name, status: ok ? "pass" : "fail", message: msg, file: rel(src?.file) ?? plainFile(ctx, spec), line: src?.line };
  }
  if (typeof a.lint === "string") {
    const level = (a.fail ?? "warning") as Severity;
    if (!(level in RANK)) throw new InputError(`"fail" takes error, warning or info`, `${ctx.specFile} (/assertions/${i})`);
    const p = loadOne(ctx, a.lint);
    const ir = policyOf(ctx, a.lint);
    const r = lint(p, { policyAbis: ir?.arches.map((s) => s.arch.name) });
    if (r instanceof Inconclusive) return { name: label(`lint ${a.lint}`), status: "inconclusive", message: r.reason };
    const all: Finding[] = [...r, ...(ir ? lintPolicy(ir) : [])];
    const bad = all.filter((f) => RANK[f.severity] >= RANK[level]);
    const src = ruleSource(ir, bad[0]?.syscall);
    return {
      name: label(`lint ${a.lint}`), status: bad.length ? "fail" : "pass",
      message: bad.length ? bad.map((f) => `${f.severity} [${f.id}] ${f.message}`).join("; ") : `clean at level ${level}`,
      file: rel(src?.file) ?? plainFile(ctx, a.lint), line: src?.line,
    };
  }
  throw new InputError("unknown assertion (subset, stricter, equal, stack, deny, allow, lint)", `${ctx.specFile} (/assertions/${i})`);
}

/** Runs every assertion of a spec file. */
export function runSpec(specFile: string, opts: { arch?: ArchLike; probeBypass?: ProbeBypass } = {}): AssertionResult[] {
  const text = readBoundedText(specFile, SIZE_LIMITS.spec, "a spec file");
  let doc: unknown;
  try {
    doc = losslessParse(text, null, (s: string) => s);
  } catch (e) {
    throw new InputError(`invalid JSON: ${(e as Error).message}`, specFile);
  }
  if (!doc || typeof doc !== "object" || !Array.isArray((doc as { assertions?: unknown }).assertions)) {
    throw new InputError('a spec is an object with an "assertions" array', specFile);
  }
  const d = doc as { arch?: string; probeBypass?: unknown; assertions: Record<string, unknown>[] };
  refuseUnknownKeys(d, ["arch", "probeBypass", "assertions"], (k) => `${specFile} (/${k})`);
  if (d.arch !== undefined && typeof d.arch !== "string") throw new InputError('"arch" must be an arch name', `${specFile} (/arch)`);
  if (d.probeBypass !== undefined && typeof d.probeBypass !== "string") throw new InputError('"probeBypass" must be none, uretprobe or uretprobe+uprobe', `${specFile} (/probeBypass)`);
  // The command line's --probe-bypass wins over the file's.
  const probeBypass = opts.probeBypass ?? probeBypassOption(d.probeBypass as string | undefined, `${specFile} (/probeBypass)`);
  // Every assertion is checked before any runs: a CI gate never reports on half a spec.
  d.assertions.forEach((a, i) => validateAssertion(a, `${specFile} (/assertions/${i}`));
  const arch = opts.arch !== undefined ? resolveArch(opts.arch, "runSpec: options.arch") : (d.arch ? resolveArch(d.arch, `${specFile} (/arch)`) : hostArch());
  const ctx: Ctx = { dir: dirname(resolve(specFile)), specFile, arch, probeBypass, programs: new Map(), irs: new Map(), results: new Map() };
  return d.assertions.map((a, i) => runMemo(ctx, a, i));
}

/**
 * runOne, once per distinct assertion: a repeated one (same fields but its name) reuses the
 * result under its own name. Assertions on live stacks always run.
 */
function runMemo(ctx: Ctx, a: Record<string, unknown>, i: number): AssertionResult {
  const named = (r: AssertionResult) => (typeof a.name === "string" ? { ...r, name: a.name } : r);
  const { name: _name, ...rest } = a;
  const key = JSON.stringify(rest);
  if (key.includes("pid:")) return runOne(ctx, a, i);
  let r = ctx.results.get(key);
  if (!r) {
    // Run without the name so the memo holds the default label.
    r = runOne(ctx, rest, i);
    ctx.results.set(key, r);
  }
  return named(r);
}

/** GitHub Actions workflow commands, one per failed or inconclusive assertion. */
export function ciAnnotations(results: readonly AssertionResult[]): string[] {
  const esc = (s: string) => s.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
  const prop = (s: string) => esc(s).replace(/:/g, "%3A").replace(/,/g, "%2C");
  return results.filter((r) => r.status !== "pass").map((r) => {
    const kind = r.status === "fail" ? "error" : "warning";
    const loc = r.file ? ` file=${prop(r.file)}${r.line ? `,line=${r.line}` : ""}` : "";
    return `::${kind}${loc},title=${prop(`sysfence: ${r.name}`)}::${esc(r.message)}`.replace("::error,", "::error ").replace("::warning,", "::warning ");
  });
}

/** JUnit XML: one test case per assertion; fails as failures, inconclusive as errors. */
export function junitXml(results: readonly AssertionResult[], suite = "sysfence verify"): string {
  const x = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
  const failures = results.filter((r) => r.status === "fail").length;
  const errors = results.filter((r) => r.status === "inconclusive").length;
  const cases = results.map((r) => {
    const body = r.status === "fail" ? `<failure message="${x(r.message)}"/>` : r.status === "inconclusive" ? `<error message="inconclusive: ${x(r.message)}"/>` : "";
    return `  <testcase classname="sysfence.verify" name="${x(r.name)}"${r.file ? ` file="${x(r.file)}"` : ""}>${body}</testcase>`;
  });
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuite name="${x(suite)}" tests="${results.length}" failures="${failures}" errors="${errors}">\n${cases.join("\n")}\n</testsuite>\n`;
}

export { syscallName };
