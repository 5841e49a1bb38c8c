// Bench section "replay": `sysfence replay` end to end on large strace files: lines per second
// and peak memory, on one core.
//
// Methodology.
// - Trace: a synthetic `strace -f` text of N lines (10 million; 1 million with --quick) in the
//   git-ignored bench/.out/, generated once (deterministic, cached by name). Its lines are the
//   corpus strace of QEMU booting a guest (traces/qemu-tcg-boot.strace.txt, 5,409 lines:
//   split <unfinished ...>/<... resumed> pairs, signals, exits, every argument form QEMU
//   produces), repeated with the pids of every repetition renumbered (so pairs stay coherent
//   and the thread set keeps changing) and the low 24 bits of every 0x7f… pointer randomised
//   (so that lines are not byte-identical). Without the corpus a built-in 40-line VMM-like
//   template is used.
// - Filter: Firecracker's x86_64 vmm filter compiled by sysfence (corpus), else the bundled
//   filters/vmm-demo.x86_64.asm. Firecracker's filter checks arguments of futex, mmap, mprotect,
//   madvise, ioctl, fcntl, rt_sigaction, memfd_create…, so most lines need arguments decoded.
// - Run: a child Node process (pinned to CPU 0 with taskset when available) calls the API's
//   replayTraces on the file, exactly what the CLI does minus printing. It reports wall time,
//   CPU time (user + system) and peak RSS (process.resourceUsage().maxRSS). Lines/s is computed
//   on wall time (the target) and on CPU time (less sensitive to other load on the machine).
//   Memory: the same run on 1/10 of the lines shows that peak RSS does not grow with the trace.
// - Also: the same trace gzipped (1 million lines), to show what decompression costs.
// Target: >= 1,000,000 lines/s end to end on one core, constant memory.
import { spawnSync, execFileSync } from "node:child_process";
import { createWriteStream, existsSync, readFileSync, renameSync, statSync, writeFileSync, createReadStream } from "node:fs";
import { createGzip } from "node:zlib";
import { pipeline } from "node:stream/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { corpusDir, ensureOutDir, hasCorpus, repoRoot, si, formatTable } from "./lib.mjs";

export const name = "replay";
export const title = "Trace replay: strace lines/s end to end and peak memory (one core)";

const TARGET = 1_000_000;
/** Bumped whenever the generator changes, so cached traces are regenerated. */
const GEN_VERSION = 1;

const BUILTIN = [
  'PID  execve("/usr/bin/firecracker", ["firecracker", "--api-sock", "/tmp/fc.sock"], 0x7fff56e7c058 /* 12 vars */) = 0',
  "PID  brk(NULL)                         = 0x55866e697000",
  "PID  mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7fb08f0fa000",
  'PID  openat(AT_FDCWD, "/dev/kvm", O_RDWR|O_CLOEXEC) = 12',
  "PID  ioctl(12, KVM_GET_API_VERSION, 0) = 12",
  "PID  ioctl(12, KVM_CREATE_VM, 0) = 13",
  "PID  ioctl(13, KVM_SET_USER_MEMORY_REGION, 0x7ffc1c0) = 0",
  "PID  mprotect(0x7fb08f050000, 4096, PROT_READ) = 0",
  "PID  futex(0x7fb08f0f7a70, FUTEX_WAKE_PRIVATE, 1) = 0",
  "PID  futex(0x7fb08f0f7a74, FUTEX_WAIT_PRIVATE, 2, NULL <unfinished ...>",
  "PID  write(1, \"hello\\n\", 6)              = 6",
  "PID  <... futex resumed>)              = 0",
  "PID  read(14, \"\\1\\0\\0\\0\\0\\0\\0\\0\", 8) = 8",
  "PID  ioctl(15, KVM_RUN, 0)             = 0",
  "PID  epoll_wait(16, [{events=EPOLLIN, data={u32=3, u64=3}}], 100, -1) = 1",
  "PID  madvise(0x7fb08e800000, 2097152, MADV_DONTNEED) = 0",
  "PID  close(14)                         = 0",
  "PID  --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=12, si_uid=0, si_status=0} ---",
];

/** Deterministic xorshift. */
function prng(seed) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return s >>> 0;
  };
}

/** Writes `lines` lines of synthetic strace to `file` (see the header). */
async function generate(file, lines, template) {
  const tmp = file + ".part";
  const out = createWriteStream(tmp, { highWaterMark: 1 << 22 });
  const rnd = prng(0x5f3759df);
  // Template pids -> offsets, so each repetition gets its own consistent set of pids.
  const pids = [...new Set(template.map((l) => /^(\d+|PID)\b/.exec(l)?.[1]).filter(Boolean))];
  const parts = template.map((l) => {
    const m = /^(\d+|PID)(.*)$/.exec(l);
    return m ? { pid: pids.indexOf(m[1]), rest: m[2] } : { pid: -1, rest: l };
  });
  let n = 0;
  let rep = 0;
  let buf = [];
  const hex6 = () => (rnd() & 0xffffff).toString(16).padStart(6, "0");
  while (n < lines) {
    const base = 10_000 + (rep++ % 100_000) * (pids.length + 1);
    for (const p of parts) {
      if (n >= lines) break;
      const rest = p.rest.includes("0x7f") ? p.rest.replace(/0x7f[0-9a-f]{6}/g, () => "0x7f" + hex6()) : p.rest;
      buf.push(p.pid >= 0 ? `${base + p.pid}${rest}` : rest);
      n++;
      if (buf.length === 65536) {
        if (!out.write(buf.join("\n") + "\n")) await new Promise((r) => out.once("drain", r));
        buf = [];
      }
    }
  }
  if (buf.length) out.write(buf.join("\n") + "\n");
  await new Promise((r, j) => out.end((e) => (e ? j(e) : r())));
  renameSync(tmp, file);
}

/** The child: replays one trace through the public API and reports time and memory. */
const CHILD = `
const [dist, filter, trace, arch] = process.argv.slice(1);
const api = await import(dist);
const { readFileSync } = await import("node:fs");
const program = api.readRaw(readFileSync(filter), "le");
const t0 = process.hrtime.bigint();
const c0 = process.cpuUsage();
const r = await api.replayTraces([program], [trace], { arch: api.resolveArch(arch) });
const secs = Number(process.hrtime.bigint() - t0) / 1e9;
const cpu = process.cpuUsage(c0);
process.stdout.write(JSON.stringify({
  secs, cpu: (cpu.user + cpu.system) / 1e6, maxRSS: process.resourceUsage().maxRSS * 1024,
  lines: r.traces[0].stats.lines, events: r.totals.events, denied: r.totals.denied, depends: r.totals.depends, method: r.method,
}));
`;

function runChild(filter, trace) {
  const dist = pathToFileURL(join(repoRoot, "dist", "index.js")).href;
  const node = [process.execPath, "--input-type=module", "-e", CHILD, dist, filter, trace, "x86_64"];
  let cmd = node;
  try {
    execFileSync("taskset", ["-c", "0", "true"], { stdio: "ignore" });
    cmd = ["taskset", "-c", "0", ...node];
  } catch {
    // no taskset: unpinned (noted in the report)
  }
  const r = spawnSync(cmd[0], cmd.slice(1), { encoding: "utf8", maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`replay child failed: ${r.stderr.trim().split("\n").slice(-3).join(" / ")}`);
  return { ...JSON.parse(r.stdout), pinned: cmd[0] === "taskset" };
}

export async function run(ctx) {
  const { api } = ctx;
  if (typeof api.replayTraces !== "function") throw new Error("dist/index.js lacks replayTraces: rebuild (node scripts/build.mjs)");
  const out = ensureOutDir();
  const corpus = hasCorpus();
  const templateFile = join(corpusDir, "traces", "qemu-tcg-boot.strace.txt");
  const template = corpus ? readFileSync(templateFile, "latin1").split("\n").filter((l) => l.trim() !== "") : BUILTIN;
  const big = ctx.quick ? 1_000_000 : 10_000_000;
  const sizes = [big / 10, big];

  // The filter, as a raw file the child reads.
  const x86_64 = api.resolveArch("x86_64");
  let program;
  let filterName;
  if (corpus) {
    const fc = join(corpusDir, "filters", "firecracker", "x86_64-unknown-linux-musl.json");
    program = api.compilePolicyText(readFileSync(fc, "utf8"), fc, { arch: x86_64, thread: "vmm" }).programs[0].program;
    filterName = "Firecracker x86_64 vmm filter (compiled by sysfence)";
  } else {
    program = api.assemble(readFileSync(join(repoRoot, "filters", "vmm-demo.x86_64.asm"), "utf8"));
    filterName = "filters/vmm-demo.x86_64.asm";
  }
  const filter = join(out, "replay-filter.bpf");
  writeFileSync(filter, api.writeRaw(program, "le"));

  const rows = [];
  const results = [];
  for (const lines of sizes) {
    const file = join(out, `replay-${corpus ? "qemu" : "builtin"}-v${GEN_VERSION}-${lines}.strace`);
    if (!existsSync(file)) {
      ctx.log(`generating ${si(lines)} lines of strace into ${file}`);
      await generate(file, lines, template);
    }
    ctx.log(`replaying ${file}`);
    const r = runChild(filter, file);
    results.push({ lines, bytes: statSync(file).size, ...r });
  }
  // gzip: the smaller trace, compressed once.
  const small = join(out, `replay-${corpus ? "qemu" : "builtin"}-v${GEN_VERSION}-${sizes[0]}.strace`);
  const gz = small + ".gz";
  if (!existsSync(gz)) {
    ctx.log(`gzipping ${small}`);
    await pipeline(createReadStream(small), createGzip({ level: 6 }), createWriteStream(gz + ".part"));
    renameSync(gz + ".part", gz);
  }
  const rgz = runChild(filter, gz);
  results.push({ lines: sizes[0], bytes: statSync(gz).size, gzip: true, ...rgz });

  for (const r of results) {
    rows.push([
      `${si(r.lines)} lines${r.gzip ? " (gzip)" : ""}`, `${(r.bytes / 1048576).toFixed(0)} MiB`, `${r.secs.toFixed(2)} s`,
      si(r.lines / r.secs), si(r.lines / r.cpu), `${(r.maxRSS / 1048576).toFixed(0)} MiB`,
      `${r.denied} / ${r.depends}`,
    ]);
  }
  const main = results[1];
  const rate = main.lines / main.secs;
  const text = [
    `filter: ${filterName}; trace: ${corpus ? "corpus QEMU boot strace, repeated" : "built-in template"}; decided by the ${main.method} engine`,
    `${main.pinned ? "pinned to CPU 0 (taskset)" : "not pinned (no taskset)"}; lines/s on wall time and on CPU time (user + system)`,
    "",
    formatTable(
      [
        { title: "trace", align: "l" }, { title: "size", align: "r" }, { title: "wall", align: "r" },
        { title: "lines/s", align: "r" }, { title: "lines/s (CPU)", align: "r" }, { title: "peak RSS", align: "r" },
        { title: "denied / depends", align: "r" },
      ],
      rows,
    ),
    "",
    `target >= ${si(TARGET)} lines/s on one core: ${rate >= TARGET ? "met" : "NOT met"} (${si(rate)} lines/s on ${si(main.lines)} lines); ` +
      `peak RSS ${(results[0].maxRSS / 1048576).toFixed(0)} MiB at ${si(results[0].lines)} lines vs ${(main.maxRSS / 1048576).toFixed(0)} MiB at ${si(main.lines)}`,
  ].join("\n");
  return { title, text, results };
}
