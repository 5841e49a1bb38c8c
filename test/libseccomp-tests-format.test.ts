// The libseccomp `.tests` parser (src/libseccomp/tests-format.ts) and the regression script's
// name resolution (src/libseccomp/resolve.ts), on hand-written snippets; then on all 64 real files of
// the vendored corpus.
import { describe, it, expect } from "vitest";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import {
  parseTests, expand, expandArches, parseCUnsigned, parseSimResult, formatSimResult, simResultRet,
  type BpfSimLine, type SyscallResolver,
} from "../src/libseccomp/tests-format.js";
import { libseccompResolver, multiplexedPseudoNumber, resolveLibseccomp } from "../src/libseccomp/resolve.js";
import { findArch, type ArchInfo } from "../src/syscalls/arches.js";
import { InputError } from "../src/errors.js";
import { corpusPath } from "./support/corpus.js";

// A tiny table for the snippets: number per (table, name).
const TABLE: Record<string, Record<string, number>> = {
  x86_64: { read: 0, write: 1, close: 3, socket: 41 },
  x86: { read: 3, close: 6, socketcall: 102, ipc: 117, socket: 359, accept4: 364 },
  x32: { read: 0, close: 3 },
  s390x: { read: 3, socketcall: 102, ipc: 117, socket: 359 },
  ppc: { read: 3, socketcall: 102, ipc: 117, accept: 330 },
  mips: { read: 3, socketcall: 102, ipc: 117 },
};
const resolve = libseccompResolver((a: ArchInfo, name: string) => {
  const n = TABLE[a.table]?.[name];
  return n === undefined ? undefined : n + a.nrBase;
});

function sim(text: string): BpfSimLine[] {
  return parseTests(text, "snippet.tests").lines.filter((l): l is BpfSimLine => l.type === "bpf-sim");
}

describe("libseccomp .tests parser", () => {
  it("reads test types, comments, blank lines and numbers data lines across the file", () => {
    const f = parseTests(
      [
        "# a comment",
        "",
        "test type: bpf-sim",
        "  02-sim-basic\tall\tread\t0\t0x856B008\t40\tN\tN\tN\tALLOW  ",
        "test type: bpf-sim-fuzz",
        "02-sim-basic\t5",
        "test type: bpf-valgrind",
        "02-sim-basic",
        "test type: basic",
        "regression_check.sh --flag",
        "test type: live",
        "20-live-basic_die\t1\tTRAP",
      ].join("\n"),
      "x.tests",
    );
    expect(f.lines.map((l) => [l.type, l.testNumber, l.line])).toEqual([
      ["bpf-sim", 1, 4], ["bpf-sim-fuzz", 2, 6], ["bpf-valgrind", 3, 8], ["basic", 4, 10], ["live", 5, 12],
    ]);
    const s = f.lines[0] as BpfSimLine;
    expect(s.testName).toBe("02-sim-basic");
    expect(s.syscall).toEqual({ kind: "name", name: "read" });
    expect(s.args).toEqual([
      { lo: 0n, hi: 0n }, { lo: 0x856b008n, hi: 0x856b008n }, { lo: 40n, hi: 40n }, null, null, null,
    ]);
    expect(s.result).toEqual({ text: "ALLOW", action: "ALLOW" });
    expect(f.lines[1]).toMatchObject({ testName: "02-sim-basic", stressCount: 5 });
    expect(f.lines[3]).toMatchObject({ command: "regression_check.sh --flag" });
    expect(f.lines[4]).toMatchObject({ testName: "20-live-basic_die", api: 1, result: "TRAP" });
  });

  it("parses syscalls: numbers (negative too), ranges and names", () => {
    const l = sim(
      "test type: bpf-sim\n" +
        "t all 0-350 N N N N N N ALLOW\n" +
        "t all -1 N N N N N N ALLOW\n" +
        "t all 4294867295 N N N N N N ALLOW\n" +
        "t all rt_sigreturn N N N N N N ALLOW\n",
    );
    expect(l.map((x) => x.syscall)).toEqual([
      { kind: "number", lo: 0n, hi: 350n },
      { kind: "number", lo: -1n, hi: -1n },
      { kind: "number", lo: 4294867295n, hi: 4294867295n },
      { kind: "name", name: "rt_sigreturn" },
    ]);
  });

  it("parses arg values like strtoull(base 0) and ranges like the script", () => {
    expect(parseCUnsigned("0x7FFFFFFFFFFFFFFE")).toBe(0x7ffffffffffffffen);
    expect(parseCUnsigned("0xFFFFFFFFFFFF03E8")).toBe(0xffffffffffff03e8n);
    expect(parseCUnsigned("010")).toBe(8n); // octal, as C reads it
    expect(parseCUnsigned("0")).toBe(0n);
    expect(parseCUnsigned("-1")).toBe(0xffffffffffffffffn); // negatives wrap
    expect(parseCUnsigned("0x10000000000000000")).toBeUndefined(); // ERANGE
    expect(parseCUnsigned("12ab")).toBeUndefined();
    const [l] = sim("test type: bpf-sim\nt all 1000 0x02-0x0A 0-5 N 0x1000C-0x1006E 7 -1 KILL\n");
    expect(l.args).toEqual([
      { lo: 2n, hi: 10n }, { lo: 0n, hi: 5n }, null, { lo: 0x1000cn, hi: 0x1006en },
      { lo: 7n, hi: 7n }, { lo: 0xffffffffffffffffn, hi: 0xffffffffffffffffn },
    ]);
  });

  it("parses every result form and maps KILL to KILL_THREAD", () => {
    expect(parseSimResult("KILL")).toEqual({ text: "KILL", action: "KILL_THREAD" });
    expect(parseSimResult("KILL_PROCESS")).toEqual({ text: "KILL_PROCESS", action: "KILL_PROCESS" });
    expect(parseSimResult("TRAP").action).toBe("TRAP");
    expect(parseSimResult("LOG").action).toBe("LOG");
    expect(parseSimResult("ERRNO(5)")).toEqual({ text: "ERRNO(5)", action: "ERRNO", data: 5 });
    expect(parseSimResult("TRACE(1234)")).toEqual({ text: "TRACE(1234)", action: "TRACE", data: 1234 });
    expect(simResultRet(parseSimResult("ERRNO(5)"))).toBe(0x00050005);
    expect(simResultRet(parseSimResult("KILL"))).toBe(0);
    expect(() => parseSimResult("ERRNO(0x5)")).toThrow(InputError);
    expect(() => parseSimResult("ERRNO(70000)")).toThrow(/65535/);
    expect(() => parseSimResult("USER_NOTIF")).toThrow(InputError);
  });

  it("formats return values as scmp_bpf_sim prints them", () => {
    expect(formatSimResult(0x7fff0000)).toBe("ALLOW");
    expect(formatSimResult(0x00000000)).toBe("KILL");
    expect(formatSimResult(0x0000002a)).toBe("KILL"); // data ignored
    expect(formatSimResult(0x80000000)).toBe("KILL_PROCESS");
    expect(formatSimResult(0x00030007)).toBe("TRAP"); // TRAP prints no data
    expect(formatSimResult(0x00050001)).toBe("ERRNO(1)");
    expect(formatSimResult(0x7ff004d2)).toBe("TRACE(1234)");
    expect(formatSimResult(0x7ffc0000)).toBe("LOG");
    expect(formatSimResult(0x7fc00000)).toBe("ERROR"); // USER_NOTIF: the simulator fails
    expect(formatSimResult(0x12340000)).toBe("ERROR");
  });

  it("reports errors with the file and line", () => {
    const bad = (body: string) => () => parseTests(`test type: bpf-sim\n${body}\n`, "f.tests");
    expect(bad("t all read N N N N N N")).toThrow(/^a bpf-sim line has 10 columns, this one has 9$/);
    try {
      bad("t all read N N N N N N ALLOW extra")();
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(InputError);
      expect((e as InputError).where).toBe("f.tests:2");
      expect((e as InputError).oneLine()).toMatch(/^f\.tests:2: /);
    }
    expect(bad("t +vax read N N N N N N ALLOW")).toThrow(/unknown arch "\+vax"/);
    expect(bad("t all read zz N N N N N ALLOW")).toThrow(/Arg0: "zz"/);
    expect(bad("t all read 5-1 N N N N N ALLOW")).toThrow(/empty/);
    expect(bad("t all 10-5 N N N N N N ALLOW")).toThrow(/empty/);
    expect(bad("t all read N N N N N N MAYBE")).toThrow(/Result/);
    expect(() => parseTests("t all read N N N N N N ALLOW\n", "g.tests")).toThrow(/before any "test type:"/);
    expect(() => parseTests("test type: bpf-fuzzy\n", "g.tests")).toThrow(/unknown test type/);
    try {
      parseTests("# x\ntest type: live\n20-live x TRAP\n", "h.tests");
      expect.unreachable();
    } catch (e) {
      expect((e as InputError).oneLine()).toBe('h.tests:3: API level "x" is not a number');
    }
  });

  it("accepts a trailing # comment after the columns", () => {
    const [l] = sim("test type: bpf-sim\n01-sim-allow all,-x32 0-350 N N N N N N ALLOW # 351 simulations\n");
    expect(l.result.text).toBe("ALLOW");
  });
});

describe("arch lists", () => {
  const terms = (s: string) => sim(`test type: bpf-sim\nt ${s} 0 N N N N N N ALLOW\n`)[0].arches;
  it("all = the host; bare names only when they are the host", () => {
    expect(expandArches(terms("all"), "x86_64")).toEqual(["x86_64"]);
    expect(expandArches(terms("all,-x32"), "x86_64")).toEqual(["x86_64"]);
    expect(expandArches(terms("x86"), "x86_64")).toEqual([]);
    expect(expandArches(terms("x86_64"), "x86_64")).toEqual(["x86_64"]);
  });
  it("class words test the host; +class adds the whole class", () => {
    expect(expandArches(terms("all_le"), "x86_64")).toEqual(["x86_64"]);
    expect(expandArches(terms("all_be"), "x86_64")).toEqual([]);
    expect(expandArches(terms("all_32"), "x86_64")).toEqual([]);
    expect(expandArches(terms("all_64"), "x86_64")).toEqual(["x86_64"]);
    expect(expandArches(terms("+all_be"), "x86_64")).toEqual(
      ["m68k", "mips", "mips64", "mips64n32", "parisc", "parisc64", "ppc", "ppc64", "s390", "s390x", "sheb"]);
    expect(expandArches(terms("+all_le,-x32,-x86"), "x86_64")).toEqual(
      ["x86_64", "arm", "aarch64", "loongarch64", "mipsel", "mipsel64", "mipsel64n32", "ppc64le", "riscv64", "sh"]);
  });
  it("+arch adds, -arch removes every occurrence, duplicates are kept", () => {
    expect(expandArches(terms("+x86,+x86_64"), "x86_64")).toEqual(["x86", "x86_64"]);
    expect(expandArches(terms("all,+x86_64"), "x86_64")).toEqual(["x86_64", "x86_64"]);
    expect(expandArches(terms("+arm,+x32,-arm"), "x86_64")).toEqual(["x32"]);
  });
  it("depends on the host", () => {
    expect(expandArches(terms("all_be,x86"), "x86")).toEqual(["x86"]);
    expect(expandArches(terms("all_be"), "s390x")).toEqual(["s390x"]);
  });
});

describe("expansion into simulations", () => {
  it("expands the cartesian product of syscall and argument ranges per arch", () => {
    const e = expand(sim("test type: bpf-sim\nt +x86,+x86_64 0-2 1-2 N 5 N 0x10-0x12 N KILL\n"), { host: "x86_64", resolve });
    expect(e.total).toBe(2 * 3 * 2 * 3);
    expect(e.cases.length).toBe(36);
    expect(e.notApplicable).toEqual([]);
    const first = e.cases[0];
    expect(first.arch.name).toBe("x86");
    expect(first.nr).toBe(0);
    expect(first.args).toEqual([1n, 0n, 5n, 0n, 0x10n, 0n]);
    expect(first.expected.action).toBe("KILL_THREAD");
    // the innermost loop is arg5, the outermost the syscall
    expect(e.cases[1].args).toEqual([1n, 0n, 5n, 0n, 0x11n, 0n]);
    expect(e.cases[6].nr).toBe(1);
    expect(e.cases[35]).toMatchObject({ nr: 2, args: [2n, 0n, 5n, 0n, 0x12n, 0n] });
    expect(e.cases[18].arch.name).toBe("x86_64");
  });

  it("keeps the low 32 bits of the syscall number, as the simulator's int does", () => {
    const e = expand(sim("test type: bpf-sim\nt +x86 4294867295 N N N N N N ALLOW\nt +x86 -1 N N N N N N ALLOW\n"), { host: "x86_64", resolve });
    expect(e.cases.map((c) => c.nr)).toEqual([-100001, -1]);
  });

  it("resolves names per arch; x32 names carry 0x40000000 and use the x86_64 token", () => {
    const e = expand(sim("test type: bpf-sim\nt +x86,+x86_64,+x32 read N N N N N N ALLOW\n"), { host: "x86_64", resolve });
    expect(e.cases.map((c) => [c.arch.name, c.nr, c.arch.token.toString(16)])).toEqual([
      ["x86", 3, "40000003"], ["x86_64", 0, "c000003e"], ["x32", 0x40000000, "c000003e"],
    ]);
  });

  it("rewrites multiplexed socket/ipc names like libseccomp", () => {
    expect(multiplexedPseudoNumber("socket")).toBe(-101);
    expect(multiplexedPseudoNumber("accept4")).toBe(-118);
    expect(multiplexedPseudoNumber("sendmmsg")).toBe(-120);
    expect(multiplexedPseudoNumber("semop")).toBe(-201);
    expect(multiplexedPseudoNumber("shmctl")).toBe(-224);
    expect(multiplexedPseudoNumber("read")).toBeUndefined();
    const x86 = findArch("x86")!, x86_64 = findArch("x86_64")!, ppc = findArch("ppc")!, mips = findArch("mips")!;
    // x86 has a direct socket (359) but libseccomp's resolver still answers socketcall
    expect(resolve(x86, "socket")).toEqual({ nr: 102 });
    expect(resolve(x86, "accept4")).toEqual({ nr: 102 });
    expect(resolve(x86, "shmget")).toEqual({ nr: 117 });
    expect(resolve(ppc, "accept")).toEqual({ nr: 102 });
    expect(resolve(mips, "socket")).toEqual({ nr: 4102 }); // o32 base
    expect(resolve(x86_64, "socket")).toEqual({ nr: 41 }); // no multiplexing on x86_64
    expect(resolve(x86_64, "socketcall")).toHaveProperty("unresolved");
  });

  it("resolves with sysfence's own tables by default", () => {
    const r = (arch: string, name: string) => resolveLibseccomp(findArch(arch)!, name);
    expect(r("x86_64", "read")).toEqual({ nr: 0 });
    expect(r("x32", "read")).toEqual({ nr: 0x40000000 });
    expect(r("x86", "socket")).toEqual({ nr: 102 });
    expect(r("x86", "ipc")).toEqual({ nr: 117 });
    expect(r("s390x", "accept")).toEqual({ nr: 102 });
    expect(r("s390", "shmctl")).toEqual({ nr: 117 });
    expect(r("ppc", "accept4")).toEqual({ nr: 102 });
    expect(r("mipsel", "socket")).toEqual({ nr: 4102 });
    expect(r("arm", "socket")).toEqual({ nr: 281 });
    expect(r("aarch64", "open")).toHaveProperty("unresolved");
  });

  it("counts unresolvable rows as not applicable, with the reason", () => {
    const e = expand(sim("test type: bpf-sim\nt +x86_64,+x86 close 0-3 N N N N N ERRNO(1)\nt +x86_64 nosuchcall 1 N N N N N ALLOW\n"), { host: "x86_64", resolve });
    expect(e.cases.length).toBe(8);
    expect(e.total).toBe(9);
    expect(e.notApplicable).toHaveLength(1);
    expect(e.notApplicable[0]).toMatchObject({ arch: "x86_64", count: 1 });
    expect(e.notApplicable[0].reason).toMatch(/nosuchcall/);
  });

  it("skips rows with no arch left, and refuses runaway rows", () => {
    const e = expand(sim("test type: bpf-sim\nt x86 0 N N N N N N ALLOW\n"), { host: "x86_64", resolve });
    expect(e.total).toBe(0);
    expect(e.skipped).toHaveLength(1);
    const big = sim("test type: bpf-sim\nt all 0-100 0-100 0-100 0-100 N N N ALLOW\n");
    try {
      expand(big, { host: "x86_64", resolve, limit: 1000 });
      expect.unreachable();
    } catch (e) {
      expect((e as InputError).oneLine()).toBe("snippet.tests:2: the row expands to 104060401 simulations per arch (limit 1000)");
    }
    // a huge range is refused before it is materialised
    const huge = sim("test type: bpf-sim\nt all 0 0-0xffffffffffffffff N N N N N ALLOW\n");
    expect(() => expand(huge, { host: "x86_64", resolve })).toThrow(/18446744073709551616 simulations/);
  });
});

// The 64 real files: every one parses, and the counts docs/formats.md section 9 gives hold.
describe("libseccomp corpus tables", () => {
  const dir = corpusPath("libseccomp", "tests");
  it("parses all 64 files with the documented counts", () => {
    const files = readdirSync(dir!).filter((f) => f.endsWith(".tests")).sort();
    expect(files).toHaveLength(64);
    const byType: Record<string, number> = {};
    const results: Record<string, number> = {};
    const simFiles = new Set<string>();
    const allLines = [];
    for (const f of files) {
      const t = parseTests(readFileSync(join(dir!, f), "utf8"), f);
      for (const l of t.lines) {
        byType[l.type] = (byType[l.type] ?? 0) + 1;
        if (l.type === "bpf-sim") {
          simFiles.add(f);
          const k = l.result.action === "KILL_THREAD" ? "KILL" : l.result.action;
          results[k] = (results[k] ?? 0) + 1;
        }
        allLines.push(l);
      }
    }
    expect(byType).toEqual({ "bpf-sim": 521, "bpf-sim-fuzz": 22, "bpf-valgrind": 40, basic: 10, live: 13 });
    expect(simFiles.size).toBe(43);
    expect(results).toEqual({ ALLOW: 273, KILL: 162, ERRNO: 75, TRAP: 5, KILL_PROCESS: 3, LOG: 2, TRACE: 1 });
    // On an x86_64 host the bpf-sim lines expand to 7808 simulations. The count does not
    // depend on name resolution (a name is one number), so any resolver gives it.
    const anyName: SyscallResolver = () => ({ nr: 0 });
    expect(expand(allLines, { host: "x86_64", resolve: anyName }).total).toBe(7808);
  });
});
