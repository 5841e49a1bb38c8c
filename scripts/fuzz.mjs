#!/usr/bin/env node
// `npm run fuzz`: a seeded, reproducible, time-boxed fuzz harness over every reader and entry
// point of sysfence (docs/fuzzing.md). Each input is mutated from a real seed file (the bundled
// filters, the test fixtures) and fed to its reader through the API, and a sample through the
// CLI. Every outcome is one of:
//   accepted   the reader returned a result (and it passed the checks below);
//   refused    a typed error (SysfenceError) with a place (file, line, pointer);
//   BAD        anything else: an untyped exception, a stack overflow, over time, over memory, a
//              typed error without a place, a compiled program that differs from the policy's
//              reference evaluator, a disasm/asm round trip that breaks, a CLI run that prints
//              "internal error", more than one line, or exits outside 0-4.
//
// Usage: npm run fuzz -- [--seconds N] [--seed S] [--formats F[,F…]] [--index I] [--count N] [--out DIR]
//   --seconds N   time box for the whole run (default 60), split evenly over the formats
//   --seed S      campaign seed (default 1); input I of format F is the same for the same S
//   --formats     only these formats (default: all; see FORMATS below; --format is the same)
//   --index I     run only input I of the (single) format: reproduces one finding
//   --count N     stop each format after N inputs (--max is the same); with --count, --seconds
//                 is the time box of each format rather than of the whole run
//   --out DIR     where BAD inputs are written (default fuzz-findings/, git-ignored)
//   --dump FILE   write input --index of the (single) --format to FILE without running it
//
// Each format runs in a child process (2 GiB heap) watched by this one: a child that spends
// HANG_CPU_MS of CPU (or, blocked, HANG_MS of elapsed time) without reporting is killed and its
// current input recorded as BAD (over time), one that dies (out of memory) likewise; the run then
// resumes at the next input. Exit status: 0 when
// there was no BAD, 1 otherwise.
//
// An in-house mutator rather than fast-check: the inputs are files, not values, and what finds
// reader bugs is structure-aware damage to real files (a field of the wrong type, a number at
// 2^64, a name that is a property of Object.prototype, nesting 100,000 deep) applied to seeds
// from the repository. fast-check's arbitraries would have to be written for each of these
// anyway; its shrinking matters less than a seed and an index that reproduce a finding.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync, rmSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
/**
 * CPU time a child may spend without an answer before it is killed and its input is BAD (a
 * hang), read from /proc/PID/stat every WATCH_MS. CPU and not elapsed time: a `nice -n 19`
 * campaign child on a machine busy with other work got no CPU for 60 s (raw, seed 20261207
 * #3542: 0.5 ms when rerun), which an elapsed-time watchdog took for a hang.
 */
const HANG_CPU_MS = 30_000;
/** Elapsed time without an answer after which a child is killed anyway (a child blocked, not spinning; or no /proc). */
const HANG_MS = 600_000;
const WATCH_MS = 2_000;
/**
 * CPU time (user + system, this process: includes the GC, excludes other processes) past which
 * one input is BAD (over time). CPU, not elapsed time: elapsed time measures the machine's load.
 */
const SLOW_MS = 5_000;
/**
 * A CLI run (fresh node, engine load, the input) answering after this long is BAD (a hang).
 * Elapsed time (a child process's CPU time is not at hand): long, for a starved nice-19 run.
 */
const CLI_HANG_MS = 300_000;
/** Heap growth past this during one input is BAD (over memory). */
const MEM_BYTES = 1536 * 2 ** 20;
/** One input in this many also goes through the CLI (a quarter as many: a special file). */
const CLI_EVERY = 1000;
/** Largest input made (above every reader's limit, so the limits are exercised too). */
const MAX_INPUT = 24 * 2 ** 20;

// ---- arguments -------------------------------------------------------------------------------
function parseArgs(argv) {
  const o = { seconds: 60, seed: 1, format: undefined, index: undefined, max: Infinity, out: join(root, "fuzz-findings"), child: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === "--seconds") o.seconds = Number(v());
    else if (a === "--seed") o.seed = Number(v());
    else if (a === "--format" || a === "--formats") o.format = v().split(",");
    else if (a === "--index") o.index = Number(v());
    else if (a === "--max" || a === "--count") o.max = Number(v());
    else if (a === "--out") o.out = v();
    else if (a === "--child") o.child = true;
    else if (a === "--dump") o.dump = v();
    else if (a === "--start") o.start = Number(v());
    else if (a === "--until") o.until = Number(v());
    else throw new Error(`unknown option ${a}`);
  }
  for (const k of ["seconds", "seed", "max"]) if (!(o[k] > 0)) throw new Error(`--${k} must be a positive number`);
  return o;
}

// ---- seeded randomness -------------------------------------------------------------------------
function hash32(...parts) {
  let h = 0x811c9dc5;
  for (const p of parts) {
    const s = String(p);
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
    h = Math.imul(h ^ 0xff, 0x01000193);
  }
  return h >>> 0;
}
function rng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n) => Math.floor(next() * n),
    pick: (xs) => xs[Math.floor(next() * xs.length)],
    chance: (p) => next() < p,
  };
}

// ---- mutations ---------------------------------------------------------------------------------
const PROTO_NAMES = ["toString", "constructor", "valueOf", "__proto__", "hasOwnProperty", "isPrototypeOf", "__defineGetter__", "toLocaleString", "propertyIsEnumerable"];
/** Exact-value boundaries: every boundary a 32- or 64-bit field can be wrong at. */
const NUMBERS = [
  "2147483648", "4294967295", "4294967296", "9007199254740992", "9223372036854775808", "18446744073709551615",
  "18446744073709551616", "18446744073709551617", "-1", "-2147483649", "-9223372036854775809", "0", "1e3", "1.5", "-0",
  "0x10", "99999999999999999999999999999999",
];
const WRONG_VALUES = [null, true, false, 0, -1, 1.5, "", "x", [], {}, [[]], { a: 1 }, "toString", 4294967296, 18446744073709551616];

function bytesOf(x) {
  return typeof x === "string" ? Buffer.from(x, "utf8") : Buffer.from(x);
}

/**
 * The first match of `re` (global) at or after a random place, wrapping around: one regex scan
 * instead of listing every match of a megabyte input (that made generating one input take
 * seconds and tripped the hang watchdog).
 */
function matchNear(r, s, re) {
  re.lastIndex = r.int(s.length + 1);
  const m = re.exec(s);
  if (m) return m;
  re.lastIndex = 0;
  return re.exec(s);
}

/** Byte-level damage, for any seed. */
const BYTE_MUTATIONS = {
  flip(r, b) {
    const out = Buffer.from(b);
    const n = 1 + r.int(4);
    for (let i = 0; i < n && out.length; i++) out[r.int(out.length)] ^= 1 << r.int(8);
    return out;
  },
  truncate(r, b) {
    return b.subarray(0, r.int(b.length + 1));
  },
  duplicateChunk(r, b) {
    if (b.length === 0) return b;
    const a = r.int(b.length);
    const len = 1 + r.int(Math.min(4096, b.length - a));
    const at = r.int(b.length + 1);
    const copies = r.chance(BIG_CHANCE) ? 200 : 1 + r.int(3);
    return Buffer.concat([b.subarray(0, at), ...Array(copies).fill(b.subarray(a, a + len)), b.subarray(at)]);
  },
  deleteChunk(r, b) {
    if (b.length === 0) return b;
    const a = r.int(b.length);
    return Buffer.concat([b.subarray(0, a), b.subarray(a + 1 + r.int(64))]);
  },
  nulAndInvalidUtf8(r, b) {
    const junk = r.pick([[0], [0xff], [0xc3], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xef, 0xbb, 0xbf], [0xfe, 0xff]]);
    const at = r.int(b.length + 1);
    return Buffer.concat([b.subarray(0, at), Buffer.from(junk), b.subarray(at)]);
  },
  hugeNumber(r, b) {
    const s = b.toString("latin1");
    const m = matchNear(r, s, /-?\b\d+\b/g);
    if (!m) return b;
    return Buffer.from(s.slice(0, m.index) + r.pick(NUMBERS) + s.slice(m.index + m[0].length), "latin1");
  },
  longLine(r, b) {
    const s = b.toString("latin1");
    const lines = s.split("\n");
    const i = r.int(lines.length);
    const big = r.chance(BIG_CHANCE);
    const times = Math.min(1 + r.int(big ? 2000 : 20), Math.floor(MAX_INPUT / (lines[i].length + 1)));
    lines[i] = lines[i].repeat(times) + "x".repeat(big && r.chance(0.5) ? 1 << 20 : 10);
    return Buffer.from(lines.join("\n"), "latin1");
  },
  protoName(r, b) {
    const s = b.toString("latin1");
    const m = matchNear(r, s, /[A-Za-z_][A-Za-z0-9_]{1,40}/g);
    if (!m) return b;
    return Buffer.from(s.slice(0, m.index) + r.pick(PROTO_NAMES) + s.slice(m.index + m[0].length), "latin1");
  },
};

/** Damage in the terms of one text format (the line-oriented ones with a grammar of their own). */
const FORMAT_MUTATIONS = {
  minijail: {
    /** Include cycles, includes of special and far-away files, lines of thousands of terms. */
    statement(r, b) {
      const lines = b.toString("latin1").split("\n");
      const line = r.pick([
        "@include ./device.policy", "@include /usr/share/policy/crosvm/common_device.policy", "@include /dev/zero",
        "@include /usr/share/policy/crosvm/../../../../../etc/passwd", "@include", "@frequency ./device.policy",
        `ioctl: ${Array.from({ length: r.chance(BIG_CHANCE) ? 20_000 : r.pick([10, 100, 1000]) }, (_, i) => `arg1 == ${i}`).join(" || ")}`,
        `read: ${Array.from({ length: r.pick([10, 1000]) }, () => "arg0 & O_RDONLY").join(" && ")}`,
        `write: arg${r.pick(["0", "5", "6", "-1", "4294967296"])} ${r.pick(["==", "!=", "<", "<=", ">", ">=", "&", "in", "=~"])} ${r.pick(NUMBERS)}`,
        `${r.pick(PROTO_NAMES)}: 1`, `open: return ${r.pick(["1", "4096", "4095", "65536", "-1", "toString", "EPERM"])}`,
        "@default " + r.pick(["kill", "trap", "log", "user-notify", "return 1", "toString", "kill-process"]),
      ]);
      lines.splice(r.int(lines.length + 1), 0, line);
      return Buffer.from(lines.join("\n"), "latin1");
    },
  },
};

/**
 * The paths of the values of a JSON document ([] is the root), at most `limit`, and none deeper
 * than MAX_PATH_DEPTH: a document already nested 300,000 deep (an earlier deepNesting) gave
 * 5,000 paths of up to 5,000 steps each, and seconds of copying to make one input.
 */
function jsonPaths(doc, limit = 5000) {
  const out = [];
  const stack = [[doc, []]];
  while (stack.length && out.length < limit) {
    const [v, p] = stack.pop();
    out.push(p);
    if (v && typeof v === "object" && p.length < MAX_PATH_DEPTH) for (const k of Object.keys(v)) stack.push([v[k], [...p, Array.isArray(v) ? Number(k) : k]]);
  }
  return out;
}
const MAX_PATH_DEPTH = 32;
function getAt(doc, p) {
  let v = doc;
  for (const k of p) v = v?.[k];
  return v;
}
function setAt(doc, p, val) {
  if (p.length === 0) return val;
  getAt(doc, p.slice(0, -1))[p[p.length - 1]] = val;
  return doc;
}

/** Structure-aware damage, for JSON seeds (policies, jail and spec files, JSON lines). */
const JSON_MUTATIONS = {
  wrongType(r, doc) {
    const p = r.pick(jsonPaths(doc));
    return setAt(doc, p, structuredClone(r.pick(WRONG_VALUES)));
  },
  numberAtBoundary(r, doc) {
    const nums = jsonPaths(doc).filter((p) => typeof getAt(doc, p) === "number" || typeof getAt(doc, p) === "string");
    if (!nums.length) return doc;
    const p = r.pick(nums);
    const n = r.pick(NUMBERS);
    // Written as a raw number (exact) through a marker replaced after stringify.
    return setAt(doc, p, typeof getAt(doc, p) === "string" && r.chance(0.3) ? n : `@@NUM${n}@@`);
  },
  protoString(r, doc) {
    const strs = jsonPaths(doc).filter((p) => typeof getAt(doc, p) === "string");
    if (!strs.length) return doc;
    return setAt(doc, r.pick(strs), r.pick(PROTO_NAMES));
  },
  protoKey(r, doc) {
    const objs = jsonPaths(doc).filter((p) => { const v = getAt(doc, p); return v && typeof v === "object" && !Array.isArray(v); });
    if (!objs.length) return doc;
    const o = getAt(doc, r.pick(objs));
    const keys = Object.keys(o);
    const name = r.pick(PROTO_NAMES);
    if (keys.length && r.chance(0.5)) {
      const k = r.pick(keys);
      const v = o[k];
      delete o[k];
      Object.defineProperty(o, name, { value: v, enumerable: true, configurable: true, writable: true });
    } else {
      Object.defineProperty(o, name, { value: r.pick(WRONG_VALUES), enumerable: true, configurable: true, writable: true });
    }
    return doc;
  },
  misspellKey(r, doc) {
    const objs = jsonPaths(doc).filter((p) => { const v = getAt(doc, p); return v && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length; });
    if (!objs.length) return doc;
    const o = getAt(doc, r.pick(objs));
    const k = r.pick(Object.keys(o));
    const i = r.int(k.length);
    const typo = r.chance(0.5) ? k.slice(0, i) + k.slice(i + 1) : k.slice(0, i) + k[i + 1 === k.length ? i : i + 1] + k[i] + k.slice(i + 2);
    const v = o[k];
    delete o[k];
    o[typo || "x"] = v;
    return doc;
  },
  deepNesting(r, doc) {
    const depth = r.pick([100, 1000, 10_000, 100_000, 300_000]);
    const p = r.pick(jsonPaths(doc));
    return setAt(doc, p, `@@DEEP${depth}:${r.chance(0.5) ? "array" : "object"}@@`);
  },
  manyKeys(r, doc) {
    const objs = jsonPaths(doc).filter((p) => { const v = getAt(doc, p); return v && typeof v === "object" && !Array.isArray(v); });
    if (!objs.length) return doc;
    return setAt(doc, r.pick(objs), `@@KEYS${r.pick([1000, 60_000])}@@`);
  },
  duplicateEntries(r, doc) {
    const arrs = jsonPaths(doc).filter((p) => Array.isArray(getAt(doc, p)) && getAt(doc, p).length);
    if (!arrs.length) return doc;
    const a = getAt(doc, r.pick(arrs));
    const n = r.pick([10, 1000, 20_000]);
    const item = r.pick(a);
    for (let i = 0; i < n; i++) a.push(structuredClone(item));
    return doc;
  },
};

/**
 * Mutations that make inputs of megabytes (nesting 300,000 deep, 120,000 keys, 20,000 copies):
 * each finds its class on its first few tries, and one costs 100 to 1,000 times a small input to
 * make and read, so they are drawn with this probability in all (about one input in 150)
 * instead of one in three (docs/fuzzing.md): at 10^5 inputs a format still gets hundreds.
 */
const HEAVY_JSON = ["deepNesting", "manyKeys", "duplicateEntries"];
const HEAVY_CHANCE = 0.004;
/**
 * The same for the byte mutations' large sizes (a chunk copied 200 times, a line repeated up to
 * 2,000 times or a 1 MiB line): drawn with this probability, the small sizes otherwise.
 */
const BIG_CHANCE = 0.01;
function pickJsonMutation(r) {
  if (r.chance(HEAVY_CHANCE)) return r.pick(HEAVY_JSON);
  return r.pick(Object.keys(JSON_MUTATIONS).filter((k) => !HEAVY_JSON.includes(k)));
}

/** JSON.stringify plus the markers that JSON values cannot carry (exact numbers, nesting, keys). */
function renderJson(doc, r) {
  let s = JSON.stringify(doc, null, r.chance(0.5) ? 2 : 0) ?? "null";
  s = s.replace(/"@@NUM([^@]*)@@"/g, (_, n) => n);
  s = s.replace(/"@@DEEP(\d+):(array|object)@@"/g, (_, d, kind) => {
    const n = Number(d);
    return kind === "array" ? "[".repeat(n) + "]".repeat(n) : '{"a":'.repeat(n) + "1" + "}".repeat(n);
  });
  s = s.replace(/"@@KEYS(\d+)@@"/g, (_, d) => {
    const n = Number(d);
    const parts = [];
    for (let i = 0; i < n; i++) parts.push(`"k${i}":${i}`);
    for (let i = 0; i < n; i++) parts.push(`"k${n - 1}":${i}`);
    return "{" + parts.join(",") + "}";
  });
  return s;
}

// ---- seeds ---------------------------------------------------------------------------------------
/** crosvm's minijail policies (vendored): seeds, and the root their @include lines resolve in. */
const MINIJAIL_DIR = "test/corpus/policies/crosvm/x86_64";
function seedFiles() {
  const read = (p) => readFileSync(join(root, p));
  const fx = (d) => (existsSync(join(root, d)) ? readdirSync(join(root, d)).map((f) => join(d, f)) : []);
  const json = fx("test/fixtures/policies").concat(["filters/vmm.seccompiler.json", "filters/qemu-microvm.seccompiler.json"]);
  const seccompiler = json.filter((p) => /seccompiler/.test(p)).map(read);
  const oci = json.filter((p) => !/seccompiler/.test(p)).map(read);
  const asm = fx("filters").filter((p) => p.endsWith(".asm")).map(read);
  const c = fx("test/fixtures/formats").filter((p) => /\.[ch]$/.test(p)).map(read);
  const traces = fx("test/fixtures/traces");
  const strace = traces.filter((p) => p.endsWith(".strace")).map(read);
  strace.push(gunzipSync(read("filters/qemu-microvm-boot.strace.gz")).subarray(0, 200_000));
  const audit = traces.filter((p) => p.endsWith(".log")).map(read);
  const jsonl = traces.filter((p) => p.endsWith(".jsonl")).map(read);
  const minijail = fx(MINIJAIL_DIR).filter((p) => p.endsWith(".policy")).map(read);
  return { seccompiler, oci, asm, c, strace, audit, jsonl, minijail };
}

// ---- the targets -----------------------------------------------------------------------------
/**
 * One entry per format: `seeds(S)` gives the seed inputs (bytes), `json` whether structure-aware
 * mutations apply, `run(api, bytes, ctx)` feeds one input and returns a problem string (BAD) or
 * undefined. `cli(path)` gives the CLI arguments that read the same input from a file.
 */
function targets(api, seeds, work) {
  const { findArch } = api;
  const x86_64 = findArch("x86_64");
  const tmp = (name, bytes) => {
    const p = join(work, name);
    writeFileSync(p, bytes);
    return p;
  };
  /** Compiles a policy and compares every program with the reference evaluator. */
  const policyCheck = (bytes, file, more = {}) => {
    const r = api.compilePolicyText(bytes.toString("utf8"), file, { arch: x86_64, kernel: "6.1", ...more });
    for (const p of r.programs) {
      const inputs = referenceInputs(p.ir);
      const batch = api.InputBatch.of(inputs);
      const rets = api.evaluateBatch(p.program, batch).rets;
      for (let i = 0; i < inputs.length; i++) {
        const want = api.evaluatePolicy(p.ir, inputs[i]) >>> 0;
        if ((rets[i] >>> 0) !== want) {
          return `compiled program differs from the reference evaluator (thread ${p.name}, input ${JSON.stringify(inputs[i], (k, v) => (typeof v === "bigint" ? "0x" + v.toString(16) : v))}: ${rets[i] >>> 0} vs ${want})`;
        }
      }
    }
    return undefined;
  };
  const roundTrip = (prog) => {
    if (!api.accepted(prog)) return undefined;
    const text = api.disassemble(prog);
    const back = api.assemble(text);
    if (Buffer.compare(Buffer.from(back.bytes), Buffer.from(prog.bytes)) !== 0) return "disasm -> asm round trip changed the program";
    return undefined;
  };
  const sink = { event() {} };
  /** crosvm's own compile: its include root and constants, the Python reading, trap by default. */
  const minijailOptions = {
    semantics: "python", defaultAction: "trap", constants: join(root, MINIJAIL_DIR, "constants.json"),
    includeRoots: [{ prefix: "/usr/share/policy/crosvm", dir: join(root, MINIJAIL_DIR) }],
  };
  const trace = async (bytes, format) => {
    const p = tmp(`trace.${format}`, bytes);
    await api.readTrace(p, { fileIndex: 0, arch: x86_64, format, sink });
  };
  return {
    seccompiler: { seeds: seeds.seccompiler, json: true, run: (b) => policyCheck(b, "policy.json"), cli: (p) => ["compile", p, "--arch", "x86_64", "-o", "/dev/null"] },
    oci: { seeds: seeds.oci, json: true, run: (b) => policyCheck(b, "profile.json"), cli: (p) => ["compile", p, "--arch", "x86_64", "--kernel", "6.1", "-o", "/dev/null"] },
    minijail: {
      seeds: seeds.minijail,
      run: (b) => policyCheck(b, join(work, "device.policy"), { minijail: minijailOptions }),
      cli: (p) => ["compile", p, "--arch", "x86_64", "--include-root", `/usr/share/policy/crosvm=${join(root, MINIJAIL_DIR)}`,
        "--constants", join(root, MINIJAIL_DIR, "constants.json"), "--default-action", "trap", "-o", "/dev/null"],
    },
    raw: {
      seeds: () => compiledSeeds(api, seeds).map((p) => Buffer.from(api.writeRaw(p))),
      run: (b) => roundTrip(api.readRaw(b, "le", "f.bpf")),
      cli: (p) => ["disasm", p],
    },
    bincode: {
      seeds: () => [Buffer.from(api.writeBincode(new Map(compiledSeeds(api, seeds).slice(0, 3).map((p, i) => [`t${i}`, p]))))],
      run: (b) => {
        for (const p of api.readBincode(b, { where: "f.bin" }).values()) {
          const bad = roundTrip(p);
          if (bad) return bad;
        }
      },
      cli: (p) => ["disasm", p],
    },
    c: {
      seeds: () => seeds.c.concat([Buffer.from(api.writeCHeader(new Map(compiledSeeds(api, seeds).slice(0, 2).map((p, i) => [`t${i}`, p]))))]),
      run: (b) => {
        for (const p of api.readCHeader(b.toString("utf8"), { where: "f.h", arch: x86_64 }).values()) {
          const bad = roundTrip(p);
          if (bad) return bad;
        }
      },
      cli: (p) => ["disasm", p, "--arch", "x86_64"],
    },
    jsonarray: {
      json: true,
      seeds: () => compiledSeeds(api, seeds).map((p) => Buffer.from(api.writeJsonArray(p))),
      run: (b) => roundTrip(api.readJsonArray(b.toString("utf8"), "f.json")),
      cli: (p) => ["disasm", p],
    },
    asm: {
      seeds: seeds.asm,
      run: (b) => roundTrip(api.assemble(b.toString("utf8"), { file: "f.asm" })),
      cli: (p) => ["asm", p, "-o", "/dev/null"],
    },
    strace: { seeds: seeds.strace, run: (b) => trace(b, "strace") },
    audit: { seeds: seeds.audit, run: (b) => trace(b, "audit") },
    jsonl: {
      seeds: seeds.jsonl,
      run: async (b) => {
        api.parseJsonl(b.toString("utf8"), "inputs.jsonl", x86_64);
        await trace(b, "jsonl");
      },
      cli: (p) => ["run", "filters/qemu-microvm.seccompiler.json", "--inputs", p],
    },
    jail: {
      json: true,
      seeds: () => [Buffer.from(JSON.stringify({
        userns: true, uidMap: [{ inside: 0, outside: 1000, count: 1 }], gidMap: [{ inside: 0, outside: 1000, count: 1 }],
        pidns: true, mountns: true, uid: 1000, gid: 1000, binds: [{ src: "/usr", dst: "/usr", mode: "ro" }],
        rlimits: { nofile: "1024:4096", nproc: 64 }, clearCaps: true, passEnv: ["PATH"], stopTimeoutMs: 1000,
        cgroup: { memoryMax: "256M" },
      }))],
      run: (b) => {
        api.loadJailFile(tmp("jail.json", b));
      },
    },
    spec: {
      json: true,
      // The filters the assertions name are written once (a spec cannot change them). Two seeds:
      // the bundled QEMU filter, and a three-rule policy named by thread (T@FILE) whose
      // verification costs a tenth as much, with a lint assertion.
      seeds: () => {
        tmp("f.json", readFileSync(join(root, "filters/qemu-microvm.seccompiler.json")));
        tmp("s.json", readFileSync(join(root, "test/fixtures/policies/seccompiler-example.json")));
        return [
          { arch: "x86_64", assertions: [{ deny: "f.json", syscall: "ptrace" }, { allow: "f.json", syscall: "read", args: [0, "0x10"] }, { subset: ["f.json", "f.json"] }] },
          {
            arch: "x86_64",
            assertions: [
              { deny: "vmm@s.json", syscall: "ptrace" }, { allow: "vmm@s.json", syscall: "ioctl", args: [0, 21505] },
              { subset: ["api@s.json", "vmm@s.json"] }, { lint: "vmm@s.json", fail: "error" },
            ],
          },
        ].map((d) => Buffer.from(JSON.stringify(d)));
      },
      run: (b) => {
        api.runSpec(tmp("spec.json", b), { arch: x86_64 });
      },
      cli: (p) => ["verify", "--spec", p],
    },
  };
}

let compiledCache;
function compiledSeeds(api, seeds) {
  if (compiledCache) return compiledCache;
  const x86_64 = api.findArch("x86_64");
  compiledCache = [];
  for (const s of seeds.seccompiler) {
    for (const p of api.compilePolicyText(s.toString("utf8"), "seed.json", { arch: x86_64 }).programs) compiledCache.push(p.program);
  }
  for (const s of seeds.asm) compiledCache.push(api.assemble(s.toString("utf8")));
  return compiledCache;
}

/** Inputs that reach every rule of a policy: each syscall's values and their neighbours. */
function referenceInputs(ir) {
  const out = [];
  const r = rng(hash32(ir.name ?? ""));
  const around = (v) => [v, v + 1n, v === 0n ? 0n : v - 1n].map((x) => BigInt.asUintN(64, x));
  for (const a of ir.arches) {
    for (const s of a.syscalls.slice(0, 64)) {
      const vals = [0n];
      for (const rule of s.rules.slice(0, 32)) for (const c of rule.conditions) vals.push(...around(c.value), ...around(c.value | ((c.mask ?? 0n) ^ 0xffffffffn)));
      for (let i = 0; i < 8; i++) {
        const args = [0, 1, 2, 3, 4, 5].map(() => r.pick(vals) ^ (r.chance(0.2) ? 1n << 32n : 0n));
        out.push({ nr: s.nr, arch: a.arch.token, instructionPointer: 0n, args: args.map((x) => BigInt.asUintN(64, x)) });
      }
    }
    out.push({ nr: 0x7fffffff, arch: a.arch.token, instructionPointer: 0n, args: [0n, 0n, 0n, 0n, 0n, 0n] });
  }
  out.push({ nr: 0, arch: 0x12345678, instructionPointer: 0n, args: [0n, 0n, 0n, 0n, 0n, 0n] });
  return out;
}

/** Input `index` of a format: a seed, one to three mutations. */
function makeInput(seed, format, index, seedList, isJson) {
  const own = FORMAT_MUTATIONS[format];
  const r = rng(hash32(seed, format, index));
  let bytes = bytesOf(r.pick(seedList));
  const kinds = r.int(3) + 1;
  let label = [];
  for (let k = 0; k < kinds; k++) {
    if (isJson && r.chance(0.6)) {
      let doc;
      try {
        doc = JSON.parse(bytes.toString("utf8"));
      } catch {
        doc = undefined;
      }
      if (doc !== undefined) {
        const name = pickJsonMutation(r);
        try {
          // A document nested too deep for JSON.stringify's recursion is left as it is.
          const text = renderJson(JSON_MUTATIONS[name](r, doc), r);
          if (text.length <= MAX_INPUT) {
            bytes = Buffer.from(text, "utf8");
            label.push(name);
          }
        } catch {
          // keep the previous bytes
        }
        continue;
      }
    }
    const table = own && r.chance(0.4) ? own : BYTE_MUTATIONS;
    const name = r.pick(Object.keys(table));
    const next = table[name](r, bytes);
    if (next.length <= MAX_INPUT) {
      bytes = next;
      label.push(name);
    }
  }
  // A CLI run is a fresh node (300 ms to 1 s on a loaded machine): one input in CLI_EVERY.
  return { bytes, label: label.join("+"), cli: r.chance(1 / CLI_EVERY), special: r.chance(1 / (4 * CLI_EVERY)) ? r.pick(["/dev/zero", "/dev/null", "/dev/urandom", "/"]) : undefined };
}

// ---- the child: one format -------------------------------------------------------------------
async function child(o) {
  const api = await import(join(root, "dist/index.js"));
  const { SysfenceError } = api;
  const work = join(tmpdir(), `sysfence-fuzz-${process.pid}`);
  mkdirSync(work, { recursive: true });
  const fmt = o.format[0];
  const t = targets(api, seedFiles(), work)[fmt];
  const seedList = typeof t.seeds === "function" ? t.seeds() : t.seeds;
  const deadline = Date.now() + o.seconds * 1000;
  const say = (s) => process.stdout.write(s + "\n");
  let i = o.start ?? 0;
  const until = o.until ?? Infinity;
  if (o.dump) {
    // --dump FILE: write input --index of the format, without running it (to study a hang).
    writeFileSync(o.dump, makeInput(o.seed, fmt, o.index ?? 0, seedList, t.json).bytes);
    return;
  }
  for (; i < until && Date.now() < deadline; i++) {
    const g0 = performance.now();
    const inp = makeInput(o.seed, fmt, i, seedList, t.json);
    const genMs = performance.now() - g0;
    // Announced once made: the watchdog times reading the input, not making it.
    say(`S ${i}`);
    const cpu0 = process.cpuUsage();
    let cls = "accepted";
    let detail = "";
    const heap0 = process.memoryUsage().heapUsed;
    const t0 = performance.now();
    try {
      const bad = await t.run(inp.bytes, inp);
      if (bad) {
        cls = "BAD";
        detail = bad;
      }
    } catch (e) {
      if (e instanceof SysfenceError) {
        cls = e.where ? "refused" : "BAD";
        if (!e.where) detail = `typed error without a place: ${e.message}`;
      } else {
        cls = "BAD";
        detail = `${e instanceof RangeError && /call stack/.test(e.message) ? "stack overflow" : "untyped exception"}: ${e?.constructor?.name}: ${e?.message}`.slice(0, 300);
      }
    }
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const cpuMs = (cpu.user + cpu.system) / 1000;
    const grown = process.memoryUsage().heapUsed - heap0;
    if (cls !== "BAD" && cpuMs > SLOW_MS) {
      cls = "BAD";
      detail = `over time: ${cpuMs.toFixed(0)} ms of CPU (${ms.toFixed(0)} ms elapsed)`;
    }
    if (cls !== "BAD" && grown > MEM_BYTES) {
      cls = "BAD";
      detail = `over memory: heap grew ${(grown / 2 ** 20).toFixed(0)} MiB`;
    }
    if (cls !== "BAD" && t.cli && (inp.cli || inp.special)) {
      const path = inp.special ?? join(work, `cli-input`);
      if (!inp.special) writeFileSync(path, inp.bytes);
      const bad = cliCheck(t.cli(path));
      if (bad) {
        cls = "BAD";
        detail = bad;
      }
    }
    if (cls === "BAD") {
      mkdirSync(o.out, { recursive: true });
      writeFileSync(join(o.out, `${fmt}-seed${o.seed}-${i}.input`), inp.bytes);
    }
    say(`R ${i} ${cls} ${ms.toFixed(1)} ${genMs.toFixed(1)} ${inp.label}${detail ? " :: " + detail.replace(/\s+/g, " ") : ""}`);
    if (o.index !== undefined) break;
  }
  rmSync(work, { recursive: true, force: true });
}

/** Runs the CLI; a problem string when it breaks the one-line, exit 0-4 contract. */
function cliCheck(args) {
  // Elapsed time is all a child process offers here, so this is a hang guard (under the 60 s
  // watchdog), not the budget: the same input went through the API under the CPU budget first.
  const r = spawnSync(process.execPath, [join(root, "bin/sysfence.js"), ...args], { cwd: root, encoding: "utf8", timeout: CLI_HANG_MS, maxBuffer: 64 << 20 });
  if (r.error) return `CLI ${args[0]}: ${r.error.code === "ETIMEDOUT" ? `over time (${CLI_HANG_MS / 1000} s)` : r.error.message}`;
  if (r.status === null || r.status > 4) return `CLI ${args[0]}: exit ${r.status ?? r.signal}`;
  const errLines = r.stderr.split("\n").filter((l) => l.trim() && !/^sysfence: warning: /.test(l));
  if (/internal error/.test(r.stderr)) return `CLI ${args[0]}: ${errLines.find((l) => /internal error/.test(l))}`;
  if (r.status >= 2 && errLines.length !== 1) return `CLI ${args[0]}: exit ${r.status} with ${errLines.length} error lines`;
  return undefined;
}

// ---- the parent: formats in turn, watched --------------------------------------------------
const FORMATS = ["seccompiler", "oci", "minijail", "raw", "bincode", "c", "jsonarray", "asm", "strace", "audit", "jsonl", "jail", "spec"];

function runFormat(o, fmt, seconds) {
  return new Promise((resolve) => {
    const stats = { accepted: 0, refused: 0, BAD: 0, bad: [], inputs: 0 };
    const stopsAt = new Map();
    const end = Date.now() + seconds * 1000;
    const startChild = (start) => {
      const left = Math.max(1, (end - Date.now()) / 1000);
      const args = [fileURLToPath(import.meta.url), "--child", "--format", fmt, "--seed", String(o.seed), "--seconds", String(left), "--start", String(start), "--out", o.out];
      if (o.index !== undefined) args.push("--index", String(o.index));
      if (Number.isFinite(o.max)) args.push("--until", String(o.max));
      const cp = spawn(process.execPath, ["--max-old-space-size=2048", "--stack-size=984", ...args], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
      let current = start;
      let last = start - 1;
      let buf = "";
      // The watchdog: CPU time (and elapsed time) since the child's last line.
      let since = { cpu: childCpuMs(cp.pid), at: Date.now() };
      let killedFor;
      const arm = () => (since = { cpu: childCpuMs(cp.pid), at: Date.now() });
      const timer = setInterval(() => {
        const cpu = childCpuMs(cp.pid);
        if (cpu !== undefined && since.cpu !== undefined && cpu - since.cpu > HANG_CPU_MS) killedFor = `over time (${((cpu - since.cpu) / 1000).toFixed(0)} s of CPU without an answer)`;
        else if (Date.now() - since.at > HANG_MS) killedFor = `over time (no answer in ${HANG_MS / 1000} s)`;
        if (killedFor) cp.kill("SIGKILL");
      }, WATCH_MS);
      cp.stdout.on("data", (d) => {
        arm();
        buf += d;
        let nl;
        while ((nl = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (line.startsWith("S ")) current = Number(line.slice(2));
          else if (line.startsWith("R ")) {
            const [, idx, cls, , , ...rest] = line.split(" ");
            last = Number(idx);
            stats.inputs++;
            stats[cls]++;
            if (cls === "BAD") {
              stats.bad.push(`${fmt} #${idx}: ${rest.join(" ")}`);
              console.log(`BAD ${fmt} #${idx} (reproduce: npm run fuzz -- --format ${fmt} --seed ${o.seed} --index ${idx}): ${rest.join(" ")}`);
            }
          }
        }
      });
      let err = "";
      cp.stderr.on("data", (d) => (err += d).slice(-2000));
      cp.on("close", (code, signal) => {
        clearInterval(timer);
        const finished = o.index !== undefined ? last >= o.index : last >= (Number.isFinite(o.max) ? o.max - 1 : Infinity);
        const early = !finished && Date.now() < end - 1000 && o.index === undefined;
        if (current === last && early && (code !== 0 || signal)) {
          // Stopped between inputs, while making input last + 1 (nothing was announced): said,
          // and resumed there; a second stop on the same input is BAD (making it hangs).
          console.log(`fuzz: ${fmt}: child stopped (${killedFor ?? signal ?? `exit ${code}`}) while making input ${last + 1}; resuming there`);
          if (stopsAt.get(last + 1)) {
            stats.inputs++;
            stats.BAD++;
            stats.bad.push(`${fmt} #${last + 1}: making the input: ${killedFor ?? signal ?? code}`);
            console.log(`BAD ${fmt} #${last + 1} (reproduce: npm run fuzz -- --format ${fmt} --seed ${o.seed} --dump FILE --index ${last + 1}): making the input stopped twice`);
            return startChild(last + 2);
          }
          stopsAt.set(last + 1, true);
          return startChild(last + 1);
        }
        if (current > last && !finished) {
          // The child died or hung on input `current`.
          stats.inputs++;
          stats.BAD++;
          const why = killedFor ?? `child died (${signal ?? code}): ${err.trim().split("\n").slice(-1)[0] ?? ""}`;
          stats.bad.push(`${fmt} #${current}: ${why}`);
          console.log(`BAD ${fmt} #${current} (reproduce: npm run fuzz -- --format ${fmt} --seed ${o.seed} --index ${current}): ${why}`);
          if (Date.now() < end - 1000 && o.index === undefined) return startChild(current + 1);
        } else if (code !== 0 && !finished && err.trim()) {
          console.log(`fuzz: ${fmt}: child exited ${code}: ${err.trim().split("\n").slice(-3).join(" | ")}`);
        }
        resolve(stats);
      });
    };
    startChild(o.index ?? 0);
  });
}

/** A child's CPU time (user + system) in ms from /proc/PID/stat; undefined where there is none. */
function childCpuMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    // Fields after the command name (which may hold spaces) in parentheses; utime, stime are 14, 15.
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(f[11]) + Number(f[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}
/** USER_HZ: 100 on every Linux arch sysfence supports. */
const CLOCK_TICKS = 100;

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (o.child || o.dump) return child({ ...o, format: o.format ?? [] });
  if (!existsSync(join(root, "dist/index.js"))) spawnSync(process.execPath, [join(root, "scripts/build.mjs")], { stdio: "inherit" });
  const formats = o.format ?? FORMATS;
  for (const f of formats) if (!FORMATS.includes(f)) throw new Error(`unknown format ${f} (known: ${FORMATS.join(", ")})`);
  if (o.index !== undefined && formats.length !== 1) throw new Error("--index needs one --format");
  // With --count each format has the whole --seconds; without, they share it.
  const per = Number.isFinite(o.max) ? o.seconds : o.seconds / formats.length;
  const t0 = Date.now();
  let bad = 0;
  console.log(`fuzz: seed ${o.seed}, ${formats.length} formats, ${per.toFixed(1)} s each`);
  for (const f of formats) {
    const t1 = Date.now();
    const s = await runFormat(o, f, per);
    bad += s.BAD;
    const secs = (Date.now() - t1) / 1000;
    console.log(`fuzz: ${f.padEnd(12)} ${String(s.inputs).padStart(8)} inputs: ${s.accepted} accepted, ${s.refused} refused with a place, ${s.BAD} BAD`);
    console.log(`fuzz: ${f.padEnd(12)} ${secs.toFixed(0)} s elapsed, ${(s.inputs / secs).toFixed(0)} inputs/s (child start included)`);
  }
  console.log(`fuzz: ${((Date.now() - t0) / 1000).toFixed(0)} s, ${bad} BAD`);
  process.exitCode = bad ? 1 : 0;
}

main().catch((e) => {
  console.error(`fuzz: ${e.message}`);
  process.exitCode = 2;
});
