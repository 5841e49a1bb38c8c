// The playground's worker: every answer comes from the same sources as the CLI (formats,
// compiler, engine, verifier, graph), run off the page's main thread so large inputs never
// freeze it. The engine's wasm is embedded in this bundle (scripts/build-playground.mjs).
import wasmBytes from "../../build/sysfence.wasm";
import { provideEngineBytes } from "../../src/engine/wasm.js";
import { loadFilterBytes, type LoadedFilter } from "../../src/formats/detect.js";
import "../../src/policy/index.js"; // registers the policy loader: a FILTER may be a policy
import { check } from "../../src/engine/check.js";
import { disassemble } from "../../src/text/disasm.js";
import { lint } from "../../src/verify/lint.js";
import { explain } from "../../src/verify/explain.js";
import { subset, equal } from "../../src/verify/relations.js";
import { diff } from "../../src/verify/diff.js";
import { Inconclusive } from "../../src/verify/symbolic.js";
import { verdictLines, diffLines, lintLines } from "../../src/verify/report.js";
import { programGraph, programDot, policyDot, dotToSvg } from "../../src/graph/index.js";
import { executedPath } from "../../src/engine/path.js";
import { formatRet } from "../../src/engine/actions.js";
import { resolveArch, syscallNumber } from "../../src/syscalls/index.js";
import { replaySources, formatReplayText } from "../../src/replay/index.js";
import { isGzip, type TraceSource } from "../../src/traces/source.js";
import { SysfenceError } from "../../src/errors.js";
import { filterLabel } from "../../src/cli/common.js";
import type { Request, Reply, Target, InputDoc, LoadResult, EvalResult } from "./protocol.js";

provideEngineBytes(wasmBytes);

function bytesOf(doc: InputDoc): Uint8Array {
  if (doc.text !== undefined) return new TextEncoder().encode(doc.text);
  const bin = atob(doc.b64 ?? "");
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

// The last few loaded inputs, by content, arch and thread.
const cache = new Map<string, LoadedFilter[]>();
function loadAll(t: Target): LoadedFilter[] {
  const key = `${t.arch}\u0000${t.input.name}\u0000${t.input.text ?? t.input.b64}`;
  let list = cache.get(key);
  if (!list) {
    list = loadFilterBytes(bytesOf(t.input), t.input.name, { arch: resolveArch(t.arch, "arch") });
    if (cache.size > 4) cache.delete(cache.keys().next().value!);
    cache.set(key, list);
  }
  return list;
}

function pick(t: Target): LoadedFilter {
  const list = loadAll(t);
  if (list.length === 0) throw new SysfenceError("holds no filter", { where: t.input.name });
  return list.find((f) => f.thread === t.thread) ?? list[0];
}

/** The CLI's label for a filter (so answers read the same on the page). */
const label = filterLabel;

function load(t: Target): LoadResult {
  const list = loadAll(t);
  const f = pick(t);
  const arch = resolveArch(t.arch, "arch");
  const errs = check(f.program);
  return {
    threads: list.map((x) => x.thread ?? ""),
    thread: f.thread,
    length: f.program.length,
    container: f.container,
    disasm: disassemble(f.program, { arch }),
    check: errs.length === 0
      ? [`${label(f)}: ok: the kernel accepts this program (${f.program.length} instructions)`]
      : errs.map((e) => `${label(f)}: ${e.index >= 0 ? `insn ${e.index}: ` : ""}${e.reason}`),
  };
}

function parseValue(s: string, what: string): bigint {
  const t = s.trim();
  if (!/^(0x[0-9a-f]+|\d+)$/i.test(t)) throw new SysfenceError(`${what} must be a number (decimal or 0x hex), not "${s}"`);
  const v = BigInt(t);
  if (v >> 64n) throw new SysfenceError(`${what} does not fit in 64 bits`);
  return v;
}

async function evaluateCall(t: Target, syscall: string, args: string[], fold: boolean): Promise<EvalResult> {
  const f = pick(t);
  const arch = resolveArch(t.arch, "arch");
  const name = syscall.trim();
  const nr = /^\d+$/.test(name) ? Number(name) : syscallNumber(arch, name);
  if (nr === undefined || nr > 0xffffffff) throw new SysfenceError(`no syscall "${name}" on ${arch.name}`);
  const values = args.map((a, i) => (a.trim() === "" ? 0n : parseValue(a, `arg${i}`)));
  const { path, ret } = executedPath(f.program, { nr, arch: arch.token, args: values });
  const svg = await dotToSvg(programDot(programGraph(f.program, { fold, arch }), label(f).replace(/^.*\//, ""), { path }));
  return { verdict: formatRet(ret), path, svg };
}

async function graph(t: Target, fold: boolean, policy: boolean, path?: number[]): Promise<string> {
  const f = pick(t);
  const title = label(f).replace(/^.*\//, "");
  if (policy) {
    const r = explain(f.program);
    if (r instanceof Inconclusive) throw new SysfenceError(`inconclusive: ${r.reason}`);
    if (!r.ir) throw new SysfenceError(`not a policy: ${r.problems.join("; ")}`);
    return dotToSvg(policyDot(r.ir, title));
  }
  return dotToSvg(programDot(programGraph(f.program, { fold, arch: resolveArch(t.arch, "arch") }), title, { path }));
}

function verify(a: Target, b: Target, relation: "subset" | "equal" | "diff"): string {
  const fa = pick(a), fb = pick(b);
  const labels = [label(fa), label(fb)];
  if (relation === "diff") {
    const r = diff(fa.program, fb.program);
    return (r instanceof Inconclusive ? verdictLines(`diff ${labels.join(" ")}`, r, labels) : diffLines(r, labels)).join("\n");
  }
  const v = relation === "subset" ? subset(fa.program, fb.program) : equal(fa.program, fb.program);
  const what = relation === "subset" ? `${labels[0]} ⊆ ${labels[1]}` : `${labels[0]} = ${labels[1]}`;
  return verdictLines(what, v, labels).join("\n");
}

/** A trace already in memory, decompressed with the browser's own gzip when it is gzip. */
function memorySource(bytes: Uint8Array, label: string): TraceSource {
  const gzip = isGzip(bytes);
  return {
    label,
    gzip,
    size: bytes.length,
    async *chunks(onRaw) {
      const CHUNK = 1 << 20;
      if (!gzip) {
        for (let i = 0; i < bytes.length; i += CHUNK) {
          const c = bytes.subarray(i, i + CHUNK);
          onRaw?.(c.length);
          yield Buffer.from(c.buffer, c.byteOffset, c.length);
        }
        return;
      }
      onRaw?.(bytes.length);
      const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream("gzip"));
      const reader = stream.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        yield Buffer.from(value.buffer, value.byteOffset, value.length);
      }
    },
  };
}

async function replay(id: number, t: Target, trace: ArrayBuffer, traceName: string): Promise<string> {
  const f = pick(t);
  const bytes = new Uint8Array(trace);
  let last = 0;
  const r = await replaySources([f.program], [memorySource(bytes, traceName)], {
    arch: resolveArch(t.arch, "arch"),
    onProgress: (done) => {
      const frac = bytes.length ? done / bytes.length : 1;
      if (frac - last >= 0.02) {
        last = frac;
        post({ id, progress: Math.min(1, frac) });
      }
    },
  });
  return formatReplayText(r, [label(f)]);
}

function post(m: Reply): void {
  (self as unknown as Worker).postMessage(m);
}

async function handle(id: number, req: Request): Promise<unknown> {
  switch (req.op) {
    case "load": return load(req.target);
    case "lint": {
      const f = pick(req.target);
      const r = lint(f.program);
      return r instanceof Inconclusive ? `lint ${label(f)}: inconclusive: ${r.reason}` : lintLines(label(f), r).join("\n");
    }
    case "explain": {
      const f = pick(req.target);
      const r = explain(f.program);
      if (r instanceof Inconclusive) return `${label(f)}: inconclusive: ${r.reason}`;
      return [`; ${label(f)}`, r.text, ...r.problems.map((p) => `not a policy: ${p}`)].join("\n");
    }
    case "graph": return graph(req.target, req.fold, req.policy, req.path);
    case "eval": return evaluateCall(req.target, req.syscall, req.args, req.fold);
    case "verify": return verify(req.target, req.other, req.relation);
    case "replay": return replay(id, req.target, req.trace, req.traceName);
  }
}

self.onmessage = async (e: MessageEvent<{ id: number; req: Request }>) => {
  const { id, req } = e.data;
  try {
    post({ id, ok: true, result: await handle(id, req) });
  } catch (err) {
    const msg = err instanceof SysfenceError ? err.oneLine() : err instanceof Error ? err.message : String(err);
    post({ id, ok: false, error: msg });
  }
};
