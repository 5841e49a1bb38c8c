// Reading trace files: format detection, gzip (and truncated gzip), lines across chunk
// boundaries, JSON lines with unknown values, and the one-line errors for bad input.
import { describe, it, expect } from "vitest";
import { join } from "node:path";
import { mkdtempSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { gzipSync } from "node:zlib";
import { repoRoot } from "./support/corpus.js";
import { readTrace, detectTraceFormat, sniffTraceFile } from "../src/traces/reader.js";
import { parseRecord, parseTraceRecord, scanRecordLine } from "../src/traces/jsonl.js";
import { parse as losslessParse } from "lossless-json";
import fc from "fast-check";
import { CHUNK_BYTES } from "../src/traces/source.js";
import { findArch } from "../src/syscalls/index.js";
import type { TraceEvent } from "../src/traces/event.js";
import type { InputError } from "../src/errors.js";

const fx = (name: string) => join(repoRoot, "test/fixtures/traces", name);
const x86_64 = findArch("x86_64")!;
const dir = mkdtempSync(join(tmpdir(), "sf-reader-"));

async function read(file: string) {
  const evs: { line: number; name: string; args: (bigint | undefined)[]; pid: number }[] = [];
  const s = await readTrace(file, {
    fileIndex: 0, arch: x86_64,
    sink: { event: (ev: TraceEvent) => evs.push({ line: ev.line, name: ev.name, pid: ev.pid, args: [0, 1, 2, 3, 4, 5].map((i) => ev.arg(i)) }) },
  });
  return { evs, s };
}

async function oneLine(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as InputError).oneLine();
  }
  return "no error";
}

describe("format detection", () => {
  it("by content, never by name", () => {
    expect(detectTraceFormat("4349  brk(NULL) = 0x1\n")).toBe("strace");
    expect(detectTraceFormat("strace: Process 1 attached\n[pid     1] brk(NULL) = 0x1\n")).toBe("strace");
    expect(detectTraceFormat("1795403737.634390 execve(0x1, 0x2, 0x3) = 0\n")).toBe("strace");
    expect(detectTraceFormat("type=SECCOMP msg=audit(1.2:3): arch=c000003e syscall=1\n")).toBe("audit");
    expect(detectTraceFormat("Jul 1 host sshd[1]: hello\nJul 1 host kernel: audit: type=1326 audit(1.2:3): x=1\n")).toBe("audit");
    expect(detectTraceFormat('{"arch":"x86_64","nr":1}\n')).toBe("jsonl");
    expect(detectTraceFormat('{"vmm": {"default_action": "trap"}}\n')).toBeUndefined(); // a policy, not a trace
    expect(detectTraceFormat('{"main":{"filter":[{"syscall":"read"}]}}\n')).toBeUndefined();
    expect(detectTraceFormat("ld arch\nret ALLOW\n")).toBeUndefined();
    expect(detectTraceFormat(Buffer.from([0x20, 0, 0, 0, 4, 0, 0, 0]))).toBeUndefined();
  });
  it("sniffTraceFile looks inside gzip", () => {
    writeFileSync(join(dir, "s.gz"), gzipSync(readFileSync(fx("shapes.strace"))));
    expect(sniffTraceFile(join(dir, "s.gz"))).toBe("strace");
    expect(sniffTraceFile(fx("seccomp-exec.c"))).toBeUndefined();
    expect(sniffTraceFile(join(dir, "missing"))).toBeUndefined();
  });
});

describe("gzip", () => {
  it("reads gzip (even concatenated members) like plain text", async () => {
    const plain = await read(fx("shapes.strace"));
    const text = readFileSync(fx("shapes.strace"));
    writeFileSync(join(dir, "two.gz"), Buffer.concat([gzipSync(text.subarray(0, 500)), gzipSync(text.subarray(500))]));
    const gz = await read(join(dir, "two.gz"));
    expect(gz.s.gzip).toBe(true);
    expect(gz.evs).toEqual(plain.evs);
  });
  it("truncated gzip is one error naming the file and the line reached", async () => {
    const big = Buffer.from(Array.from({ length: 20000 }, (_, i) => `1  close(${i}) = 0\n`).join(""));
    const gz = gzipSync(big);
    writeFileSync(join(dir, "cut.gz"), gz.subarray(0, Math.floor(gz.length / 2)));
    expect(await oneLine(read(join(dir, "cut.gz")))).toMatch(new RegExp(`^${dir}/cut\\.gz:\\d+: truncated gzip data \\(unexpected end of file\\)$`));
    const bad = Buffer.from(gz);
    bad.fill(0x55, 40, 80);
    writeFileSync(join(dir, "bad.gz"), bad);
    expect(await oneLine(read(join(dir, "bad.gz")))).toMatch(/bad\.gz:\d+: corrupt gzip data/);
  });
});

describe("lines and chunks", () => {
  it("a line split across chunk boundaries is read once, whole", async () => {
    // Lines of varying length until well past two chunks; every 7th is an unfinished/resumed pair.
    const lines: string[] = [];
    let bytes = 0;
    let i = 0;
    while (bytes < 2.5 * CHUNK_BYTES) {
      const l = i % 7 === 3 ? `7  read(${i}, ${"x".repeat(i % 97)} <unfinished ...>\n7  <... read resumed>"", 5) = 0` : `${i % 5}  close(${i})${" ".repeat(i % 13)} = 0`;
      lines.push(l);
      bytes += l.length + 1;
      i++;
    }
    writeFileSync(join(dir, "big.strace"), lines.join("\n") + "\n");
    const { evs, s } = await read(join(dir, "big.strace"));
    expect(evs.length).toBe(i);
    expect(evs.every((e, k) => e.args[0] === BigInt(k))).toBe(true);
    expect(s.stats.lines).toBe(lines.join("\n").split("\n").length);
  });
  it("CRLF line ends and a last line without newline", async () => {
    writeFileSync(join(dir, "crlf.strace"), "1  close(3) = 0\r\n1  close(4) = 0");
    expect((await read(join(dir, "crlf.strace"))).evs.map((e) => e.args[0])).toEqual([3n, 4n]);
  });
});

describe("JSON lines", () => {
  it("null or missing arguments and a missing ip are unknown in a trace; pid is read", async () => {
    const { evs, s } = await read(fx("calls.jsonl"));
    expect(s.format).toBe("jsonl");
    expect(evs).toEqual([
      { line: 2, name: "socket", pid: 10, args: [2n, 1n, 0n, undefined, undefined, undefined] },
      { line: 3, name: "socket", pid: 10, args: [1n, 0x80001n, undefined, undefined, undefined, undefined] },
      { line: 4, name: "read", pid: 0, args: [3n, undefined, 832n, undefined, undefined, undefined] },
      { line: 5, name: "write", pid: 0, args: [1n, undefined, undefined, undefined, undefined, undefined] },
    ]);
  });
  it("`run --inputs` keeps its meaning: missing values are 0, no pid field", () => {
    const r = parseRecord('{"syscall":"write","args":[1]}', 1, "f", x86_64);
    expect(r.data.args).toEqual([1n, 0n, 0n, 0n, 0n, 0n]);
    expect(r.data.instructionPointer).toBe(0n);
    expect(() => parseRecord('{"syscall":"write","pid":3}', 1, "f", x86_64)).toThrow(/unknown field "pid"/);
    expect(() => parseRecord('{"syscall":"write","args":[null]}', 1, "f", x86_64)).toThrow(/args\[0\]/);
    const t = parseTraceRecord('{"syscall":"write","args":[null, 2],"ip":5}', 1, "f", x86_64);
    expect(t.unknownArgs).toEqual([0, 2, 3, 4, 5]);
    expect(t.unknownIp).toBe(false);
  });
  it("a bad record is one error with file:line", async () => {
    writeFileSync(join(dir, "bad.jsonl"), '{"syscall":"write"}\n{"syscall":"nosuch"}\n');
    expect(await oneLine(read(join(dir, "bad.jsonl")))).toBe(`${dir}/bad.jsonl:2: unknown syscall "nosuch" for arch x86_64`);
  });
});

describe("not a trace", () => {
  it("binary, empty, missing, a directory", async () => {
    writeFileSync(join(dir, "bin"), Buffer.from([0x20, 0, 0, 0, 4, 0, 0, 0, 0x06, 0, 0, 0, 0, 0, 0xff, 0x7f]));
    expect(await oneLine(read(join(dir, "bin")))).toMatch(/bin:1: not a trace \(strace, audit log or JSON lines\)/);
    writeFileSync(join(dir, "empty"), "");
    expect(await oneLine(read(join(dir, "empty")))).toBe(`${dir}/empty:1: is empty: not a trace`);
    expect(await oneLine(read(join(dir, "nope")))).toBe(`${join(dir, "nope")}: cannot read: no such file`);
    expect(await oneLine(read(dir))).toBe(`${dir}: is a directory, not a trace`);
  });
});

describe("JSON lines: exact values; fractions, exponents and duplicate keys refused", () => {
  const x86_64 = findArch("x86_64")!;
  const rec = (line: string) => parseRecord(line, 1, "r.jsonl", x86_64);
  const err = (line: string) => {
    try {
      rec(line);
    } catch (e) {
      return (e as InputError).oneLine();
    }
    return "accepted";
  };

  it("small and 64-bit integers, as numbers or strings, arrive as exact BigInts", () => {
    expect(rec('{"nr":83,"args":[1,-1,"0x10",9007199254740991]}').data.args).toEqual([1n, (1n << 64n) - 1n, 16n, 9007199254740991n, 0n, 0n]);
    // Past 2^53 a double would round: read exactly all the same.
    expect(rec('{"nr":83,"args":[18446744073709551615,9007199254740993]}').data.args!.slice(0, 2)).toEqual([(1n << 64n) - 1n, 9007199254740993n]);
    expect(rec('{"nr":-0}').data.nr).toBe(0);
  });

  it("what JSON.parse would accept and the exact reader refuses is still refused", () => {
    expect(err('{"nr":1.0}')).toMatch(/r\.jsonl:1.*numbers must be integers/);
    expect(err('{"nr":1e2}')).toMatch(/numbers must be integers/);
    expect(err('{"nr":83,"nr":84}')).toMatch(/r\.jsonl:1.*Duplicate key/);
    expect(err('{"nr":83,"n\\u0072":84}')).toMatch(/Duplicate key/); // an escaped key, the same name
  });

  it("a record whose strings look like fractions or keys is read exactly all the same", () => {
    expect(rec('{"syscall":"execve","comment":"1.5e3 \\"nr\\": 2"}').data.nr).toBe(59);
    expect(rec('{"nr":59,"comment":{"nr":1,"deep":[[[[[[1]]]]]]}}').data.nr).toBe(59);
  });
});

describe("JSON lines: the record scanner gives what lossless-json gives, or leaves the line to it", () => {
  const exact = (line: string): unknown => {
    try {
      return losslessParse(line, null, (s: string) => BigInt(/[.eE]/.test(s) ? NaN : s));
    } catch {
      return "error";
    }
  };
  const TOKENS = [
    "{", "}", "[", "]", ",", ":", " ", "\t", '"nr"', '"args"', '"arch"', '"syscall"', '"comment"', '"pid"', '"ret"',
    '"ip"', '"x"', '"__proto__"', '"n\\u0072"', '"a\\"b"', '"tab\there"', "0", "1", "-0", "01", "-", "1.5", "1e3", "2E1",
    "18446744073709551616", "-9223372036854775808", "null", "nul", "true", '"s"', '"x86_64"', '"0x10"', '""',
  ];
  const soup = fc.array(fc.constantFrom(...TOKENS), { maxLength: 24 }).map((t) => t.join(""));
  const num = fc.oneof(fc.bigInt({ min: -(1n << 64n), max: 1n << 65n }).map(String), fc.constantFrom("0", "-0", "01", "1.0", "1e2"));
  const val = fc.oneof(num, fc.constantFrom("null", '"x86_64"', '"0x1f"', '"read"', '"a b"', "true"), fc.array(num, { maxLength: 7 }).map((a) => `[${a.join(",")}]`));
  const key = fc.constantFrom("nr", "args", "arch", "syscall", "ip", "pid", "ret", "comment", "bogus", "__proto__");
  const record = fc.array(fc.tuple(key, val, fc.constantFrom("", " ", "\t")), { maxLength: 6 })
    .map((kv) => `{${kv.map(([k, v, w]) => `${w}"${k}"${w}:${w}${v}`).join(",")}}`);

  it("on random lines: every line it reads equals lossless-json's reading; every line lossless-json refuses, it leaves", () => {
    let scanned = 0;
    fc.assert(fc.property(fc.oneof(soup, record), (line) => {
      const mine = scanRecordLine(line);
      const theirs = exact(line);
      if (mine === undefined) return;
      scanned++;
      expect(theirs).not.toBe("error");
      expect(mine).toEqual(theirs);
    }), { numRuns: 20_000, seed: 20261205 });
    expect(scanned).toBeGreaterThan(2_000); // the property says something: many lines were scanned
  });

  it("reads the common line itself; escapes, fractions, nesting and unknown keys go to the general parser", () => {
    expect(scanRecordLine('{"arch":"x86_64","nr":83,"args":["0x1",2,null],"ip":"0x0"}')).toEqual({ arch: "x86_64", nr: 83n, args: ["0x1", 2n, null], ip: "0x0" });
    for (const l of ['{"nr":1.5}', '{"nr":1,"nr":1}', '{"n\\u0072":1}', '{"comment":{"a":1}}', '{"bogus":1}', '{"nr":01}', '{"nr":1,}', '{"args":[[1]]}']) {
      expect(scanRecordLine(l), l).toBeUndefined();
    }
  });
});
