// Verifier section: times and peak memory of subset and equal, decided exactly by the symbolic
// engine, on
//   - each Firecracker thread (x86_64 and aarch64) against a one-rule mutation of itself
//     (the last rule's first value changed, or its last rule removed) — target < 50 ms each, warm;
//   - two Docker-default builds (default capabilities vs. with CAP_SYS_ADMIN) for x86_64;
//   - pairs of random 4096-instruction programs — target < 500 ms: independent pairs (subset
//     and equal), and a program against a one-constant mutation of itself (equal), where any
//     difference lies on a thin slice of inputs and the relational analysis has to decide.
// Each answer says how it was reached: "falsified" (a boundary input built from the filters'
// constants showed the difference), or "symbolic" (the engine decided).
// Each timing is the median of several warm runs; "peak" is the process's peak RSS and the
// engine's Wasm memory after the runs.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { corpusDir, hasCorpus, median, formatTable } from "./lib.mjs";

export const name = "verify";
export const title = "Verifier: subset / equal times and memory";

function time(fn, runs) {
  fn(); // warm
  const ts = [];
  let last;
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    last = fn();
    ts.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return { ms: median(ts), last };
}

function verdictText(v) {
  if (v.kind === "inconclusive") return `inconclusive (${v.reason})`;
  if (v.holds) return "holds (symbolic)";
  return `does not hold (${v.nodes === 0 ? "falsified" : "symbolic"})`;
}

/** A valid random program of exactly n instructions: loads, masks, K-jumps, rets. */
function randomProgram(api, n, seed) {
  let s = seed >>> 0;
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
  const int = (k) => Math.floor(rnd() * k);
  const insns = [];
  const words = [0, 4, 16, 20, 24, 28, 32, 36];
  const rets = [0x7fff0000, 0x00050001, 0x00050002, 0x80000000, 0x00030000];
  while (insns.length < n - 1) {
    const pc = insns.length;
    // Few rets and long forward jumps, so that paths run through the whole program.
    const r = int(100);
    if (r < 30) insns.push({ code: 0x20, jt: 0, jf: 0, k: words[int(words.length)] });
    else if (r < 38) insns.push({ code: 0x54, jt: 0, jf: 0, k: [0xff, 0xffff, 0xfff0, 0x40000000][int(4)] });
    else if (r < 99) {
      const room = n - 1 - pc - 1;
      const jt = Math.min(room, int(256));
      const jf = Math.min(room, int(256));
      insns.push({ code: [0x15, 0x25, 0x35, 0x45][int(4)], jt, jf, k: int(500) });
    } else insns.push({ code: 0x06, jt: 0, jf: 0, k: rets[int(rets.length)] });
  }
  insns.push({ code: 0x06, jt: 0, jf: 0, k: 0x7fff0000 });
  return insns;
}

export async function run(ctx) {
  const { api, quick } = ctx;
  const runs = quick ? 3 : 7;
  const rows = [];
  let rssPeak = 0;
  const note = (label, fnA, target) => {
    const r = time(fnA, runs);
    rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
    rows.push([label, verdictText(r.last), `${r.ms.toFixed(1)} ms`, target, target.startsWith("<") ? (r.ms < Number(target.slice(1).replace(" ms", "")) ? "met" : "MISSED") : ""]);
  };
  if (hasCorpus()) {
    for (const arch of ["x86_64", "aarch64"]) {
      const file = join(corpusDir, "filters", "firecracker", `${arch}-unknown-linux-musl.json`);
      const text = readFileSync(file, "utf8");
      const json = JSON.parse(text);
      for (const thread of ["vmm", "api", "vcpu"]) {
        const a = api.compilePolicyText(text, file, { arch: api.resolveArch(arch), thread }).programs[0].program;
        const mut = structuredClone(json);
        const rules = mut[thread].filter;
        // One rule changed: the last `eq` condition's value (masked_eq would be re-masked away).
        const withEq = rules.findLast((r) => r.args?.some((c) => c.op === "eq"));
        if (withEq) withEq.args.find((c) => c.op === "eq").val += 1;
        else rules.pop();
        const b = api.compilePolicyText(JSON.stringify(mut), file, { arch: api.resolveArch(arch), thread }).programs[0].program;
        ctx.log(`verify: firecracker ${arch} ${thread}`);
        note(`${arch} ${thread} ⊆ mutation`, () => api.subset(a, b), "< 50 ms");
        note(`${arch} ${thread} = mutation`, () => api.equal(a, b), "< 50 ms");
      }
    }
    const moby = join(corpusDir, "profiles", "moby-profiles-seccomp-default.json");
    const text = readFileSync(moby, "utf8");
    const x86_64 = api.resolveArch("x86_64");
    const d1 = api.compilePolicyText(text, moby, { arch: x86_64, kernel: "6.18" }).programs[0].program;
    const caps = new Set(["CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW", "SETGID", "SETUID", "SETFCAP", "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL", "AUDIT_WRITE", "SYS_ADMIN"]);
    const d2 = api.compilePolicyText(text, moby, { arch: x86_64, kernel: "6.18", caps }).programs[0].program;
    ctx.log("verify: docker default builds");
    note("docker default ⊆ docker +SYS_ADMIN", () => api.subset(d1, d2), "");
    note("docker default = docker +SYS_ADMIN", () => api.equal(d1, d2), "");
  } else {
    rows.push(["(corpus missing: Firecracker and Docker rows skipped)", "", "", "", ""]);
  }
  const pairs = quick ? 2 : 5;
  for (let i = 0; i < pairs; i++) {
    const insns = randomProgram(api, 4096, 1234 + i);
    const a = api.Program.fromInsns(insns);
    const other = api.Program.fromInsns(randomProgram(api, 4096, 5678 + i));
    const mut = insns.map((x) => ({ ...x }));
    const j = mut.findIndex((x, idx) => idx > 2000 && x.code === 0x15);
    if (j >= 0) mut[j].k += 1;
    const b = api.Program.fromInsns(mut);
    ctx.log(`verify: random 4096-instruction pair ${i + 1}`);
    note(`random 4096 #${i + 1} ⊆ independent`, () => api.subset(a, other), "< 500 ms");
    note(`random 4096 #${i + 1} = independent`, () => api.equal(a, other), "< 500 ms");
    note(`random 4096 #${i + 1} = one-constant mutation`, () => api.equal(a, b), "< 500 ms");
  }
  // A wider sample of the hard case, one cold run each: how many are decided, and how fast.
  const sample = quick ? 0 : 20;
  if (sample) {
    ctx.log(`verify: ${sample} more one-constant mutation pairs`);
    const ms = [];
    const kinds = { holds: 0, "does not hold": 0, inconclusive: 0 };
    for (let i = 0; i < sample; i++) {
      const insns = randomProgram(api, 4096, 2000 + i);
      const mut = insns.map((x) => ({ ...x }));
      const j = mut.findIndex((x, idx) => idx > 2000 && x.code === 0x15);
      if (j >= 0) mut[j].k += 1;
      const a = api.Program.fromInsns(insns);
      const b = api.Program.fromInsns(mut);
      const t0 = process.hrtime.bigint();
      const v = api.equal(a, b);
      ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
      kinds[v.kind === "inconclusive" ? "inconclusive" : v.holds ? "holds" : "does not hold"]++;
    }
    const within = ms.filter((m) => m < 500).length;
    rows.push([
      `${sample} more 4096 = one-constant mutation`,
      `${kinds.holds} hold, ${kinds["does not hold"]} do not, ${kinds.inconclusive} inconclusive`,
      `${median(ms).toFixed(1)} ms (max ${Math.max(...ms).toFixed(0)})`,
      "< 500 ms",
      `${within}/${sample} met`,
    ]);
  }
  const cols = [
    { title: "relation", align: "l" }, { title: "result", align: "l" }, { title: "median (warm)", align: "r" },
    { title: "target", align: "r" }, { title: "", align: "l" },
  ];
  const text = formatTable(cols, rows) +
    `\npeak RSS ${(rssPeak / 1048576).toFixed(0)} MiB (includes the engine's BDD tables, allocated on first use)`;
  return { title, text };
}
