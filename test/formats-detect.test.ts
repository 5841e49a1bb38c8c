import { describe, it, expect, beforeAll, afterAll, afterEach } from "vitest";
import { skipWhen } from "./support/skip.js";
import fc from "fast-check";
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, chmodSync, readdirSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  loadFilters, loadFilterBytes, parseFilterSpec, registerPolicyLoader, detectContainer,
  writeRaw, writeBincode, writeCHeader, writeJsonArray,
  type LoadedFilter,
} from "../src/formats/index.js";
import { Program } from "../src/engine/program.js";
import { opcodes } from "../src/engine/opcodes.js";
import { check } from "../src/engine/check.js";
import { resolveArch } from "../src/syscalls/index.js";
import { corpusPath } from "./support/corpus.js";
import { errorOf } from "./support/errors.js";

const ALLOW_ALL = Program.fromInsns([
  { code: 0x20, jt: 0, jf: 0, k: 4 },
  { code: 0x15, jt: 1, jf: 0, k: 0xc000003e },
  { code: 0x06, jt: 0, jf: 0, k: 0x80000000 },
  { code: 0x06, jt: 0, jf: 0, k: 0x7fff0000 },
]);
const ERRNO_ALL = Program.fromInsns([{ code: 0x06, jt: 0, jf: 0, k: 0x00050001 }]);

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "sysfence-detect-"));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});
afterEach(() => {
  registerPolicyLoader(undefined);
});

function put(name: string, data: Uint8Array | string): string {
  const p = join(dir, name);
  writeFileSync(p, data);
  return p;
}


const summary = (l: LoadedFilter[]) => l.map((f) => [f.container, f.thread, f.endian, f.program.length]);

describe("loadFilters: detection by content", () => {
  it("raw, little- and big-endian, whatever the file name", () => {
    const le = put("le.json", writeRaw(ALLOW_ALL, "le"));
    const be = put("be.h", writeRaw(ALLOW_ALL, "be"));
    const [a] = loadFilters(le);
    expect(a).toMatchObject({ file: le, container: "raw", endian: "le" });
    expect(a.thread).toBeUndefined();
    expect(a.program.equals(ALLOW_ALL)).toBe(true);
    const [b] = loadFilters(be);
    expect(b).toMatchObject({ container: "raw", endian: "be" });
    expect(b.program.equals(ALLOW_ALL)).toBe(true);
  });

  it("raw byte order: opts.endian, else the arch's, else guessed", () => {
    const be = put("be2.bpf", writeRaw(ALLOW_ALL, "be"));
    expect(loadFilters(be, { endian: "le" })[0]).toMatchObject({ endian: "le" });
    expect(loadFilters(be, { endian: "le" })[0].program.equals(ALLOW_ALL)).toBe(false);
    expect(loadFilters(be, { arch: resolveArch("x86_64") })[0].endian).toBe("le");
    expect(loadFilters(be, { arch: resolveArch("s390x") })[0].endian).toBe("be");
    expect(loadFilters(be, { arch: resolveArch("x86_64"), endian: "be" })[0].program.equals(ALLOW_ALL)).toBe(true);
  });

  it("bincode maps: every thread in file order, or the one asked for", () => {
    const p = put("fc-filter", writeBincode(new Map([["vmm", ALLOW_ALL], ["api", ERRNO_ALL], ["vcpu", ALLOW_ALL]])));
    expect(summary(loadFilters(p))).toEqual([
      ["bincode", "api", "le", 1], ["bincode", "vcpu", "le", 4], ["bincode", "vmm", "le", 4],
    ]);
    expect(summary(loadFilters(p, { thread: "api" }))).toEqual([["bincode", "api", "le", 1]]);
    expect(summary(loadFilters(p, { thread: "VCPU" }))).toEqual([["bincode", "vcpu", "le", 4]]);
    // A bincode map is little-endian whatever the options say.
    expect(loadFilters(p, { thread: "api", endian: "be" })[0].program.equals(ERRNO_ALL)).toBe(true);
    const e = errorOf(() => loadFilters(p, { thread: "vpcu" }));
    expect(e.where).toBe(p);
    expect(e.message).toBe('the bincode map has no thread "vpcu"; available: api, vcpu, vmm');
  });

  it("bincode over Firecracker's 100 000-byte limit: refused unless the limit is raised", () => {
    const big = Program.fromInsns(Array.from({ length: 13_000 }, () => ({ code: 6, jt: 0, jf: 0, k: 0x7fff0000 })));
    const p = put("big-map", writeBincode(new Map([["vmm", big]])));
    const e = errorOf(() => loadFilters(p));
    expect(e.message).toContain("over the bincode reader's limit of 100000 bytes");
    expect(e.where).toBe(p);
    expect(loadFilters(p, { bincodeLimit: 200_000 })[0]).toMatchObject({ container: "bincode", thread: "vmm" });
  });

  it("C headers: every array by name, or one thread", () => {
    const p = put("filters.bpf", writeCHeader([["vcpu", ALLOW_ALL], ["api", ERRNO_ALL]]));
    expect(summary(loadFilters(p))).toEqual([["c", "vcpu", "le", 4], ["c", "api", "le", 1]]);
    expect(summary(loadFilters(p, { thread: "api", arch: resolveArch("ppc64") }))).toEqual([["c", "api", "be", 1]]);
    expect(errorOf(() => loadFilters(p, { thread: "vmm" })).message).toBe('the C file has no thread "vmm"; available: vcpu, api');
  });

  it("C with Latin-1 comments is still C", () => {
    const latin1 = Uint8Array.from([...Buffer.from("/* caf"), 0xe9, ...Buffer.from(" */ struct sock_filter f[] = { {6,0,0,0} };")]);
    expect(summary(loadFilters(put("latin1.h", latin1)))).toEqual([["c", "f", "le", 1]]);
  });

  it("C with __NR_ names uses the arch", () => {
    const p = put("nr.c", "struct sock_filter f[] = { BPF_STMT(BPF_RET|BPF_K, __NR_execve) };");
    expect(loadFilters(p, { arch: resolveArch("x86") })[0].program.insn(0).k).toBe(11);
    expect(errorOf(() => loadFilters(p)).oneLine()).toBe(`${p}:1: __NR_execve needs an arch to be resolved (give one, e.g. --arch x86_64)`);
  });

  it("JSON arrays", () => {
    const p = put("prog.bin", writeJsonArray(ALLOW_ALL));
    const [f] = loadFilters(p);
    expect(f).toMatchObject({ container: "json", endian: "le" });
    expect(f.program.equals(ALLOW_ALL)).toBe(true);
    expect(loadFilters(p, { arch: resolveArch("s390x") })[0].endian).toBe("be");
    expect(errorOf(() => loadFilters(p, { thread: "vcpu" })).message).toBe('is a JSON instruction array holding one program; it has no thread "vcpu"');
    const bad = put("bad.json", "[\n  [6, 0, 0, 0],\n  [6, 0, 0, -1]\n]\n");
    expect(errorOf(() => loadFilters(bad)).oneLine()).toBe(`${bad}: instruction 1 (array index 1): "k" is out of range: -1 (allowed 0..4294967295)`);
  });

  it("JSON objects are policies: an error until a compiler registers itself", () => {
    const p = put("policy.json", '{"vmm": {"default_action": "allow", "filter_action": "allow", "filter": []}}');
    const e = errorOf(() => loadFilters(p));
    expect(e.where).toBe(p);
    expect(e.message).toBe("looks like a policy JSON; compiling policies needs `sysfence compile` (not available yet)");
    const broken = put("broken.json", '{"vmm": }');
    expect(errorOf(() => loadFilters(broken)).message).toMatch(/^invalid JSON: /);
  });

  it("JSON objects go to a registered policy loader", () => {
    const p = put("policy2.json", '{"vmm": {}, "api": {}}');
    let seen: unknown;
    registerPolicyLoader(({ json, opts, file }) => {
      seen = { json, arch: opts.arch?.name, file };
      return new Map([["vmm", ALLOW_ALL], ["api", ERRNO_ALL]]);
    });
    expect(summary(loadFilters(p, { arch: resolveArch("aarch64") }))).toEqual([["json", "vmm", "le", 4], ["json", "api", "le", 1]]);
    expect(seen).toEqual({ json: { vmm: {}, api: {} }, arch: "aarch64", file: p });
    expect(summary(loadFilters(p, { thread: "api" }))).toEqual([["json", "api", "le", 1]]);
    expect(errorOf(() => loadFilters(p, { thread: "x" })).message).toBe('the policy has no thread "x"; available: vmm, api');
    expect(registerPolicyLoader(undefined)).toBeTypeOf("function");
  });

  it("detectContainer agrees", () => {
    expect(detectContainer(writeRaw(ALLOW_ALL, "be"))).toBe("raw");
    expect(detectContainer(writeBincode(new Map([["a", ALLOW_ALL]])))).toBe("bincode");
    expect(detectContainer(new TextEncoder().encode(writeCHeader([["a", ALLOW_ALL]])))).toBe("c");
    expect(detectContainer(new TextEncoder().encode(" \n[]"))).toBe("json");
    expect(detectContainer(new TextEncoder().encode("\uFEFF{}"))).toBe("policy");
  });

  it("an empty bincode map (8 zero bytes) is not taken for a thread map", () => {
    const [f] = loadFilterBytes(new Uint8Array(8), "zeros");
    expect(f.container).toBe("raw");
    expect(check(f.program).map((e) => e.kind)).toEqual(["last-not-ret"]);
  });

  it("every container round-trips through detection (property)", () => {
    const codes = opcodes().map((o) => o.code);
    const rets = codes.filter((c) => (c & 7) === 6);
    const prog = fc
      .tuple(
        fc.array(fc.record({ code: fc.constantFrom(...codes), jt: fc.nat(255), jf: fc.nat(255), k: fc.nat(0xffffffff) }), { maxLength: 40 }),
        fc.constantFrom(...rets), fc.nat(0xffffffff),
      )
      .map(([body, ret, k]) => Program.fromInsns([...body, { code: ret, jt: 0, jf: 0, k }]));
    const enc = new TextEncoder();
    fc.assert(
      fc.property(prog, fc.constantFrom("raw-le", "raw-be", "bincode", "c", "json"), (p, how) => {
        const bytes =
          how === "raw-le" ? writeRaw(p, "le")
          : how === "raw-be" ? writeRaw(p, "be")
          : how === "bincode" ? writeBincode(new Map([["t", p]]))
          : how === "c" ? enc.encode(writeCHeader([["t", p]]))
          : enc.encode(writeJsonArray(p));
        const [f, ...rest] = loadFilterBytes(bytes, "x");
        expect(rest).toEqual([]);
        expect(f.container).toBe(how.startsWith("raw") ? "raw" : how);
        if (how === "raw-be") expect(f.endian).toBe("be");
        expect(f.program.bytes).toEqual(p.bytes);
      }),
      { numRuns: 300 },
    );
  });
});

describe("loadFilters: errors name the file", () => {
  it("empty and blank files", () => {
    const p = put("empty.bpf", new Uint8Array(0));
    expect(errorOf(() => loadFilters(p)).oneLine()).toBe(`${p}: is empty`);
    const q = put("blank.json", " \n\t\n");
    expect(errorOf(() => loadFilters(q)).oneLine()).toBe(`${q}: is empty (only white space)`);
  });
  it("missing files and directories", () => {
    const missing = join(dir, "nope.bpf");
    expect(errorOf(() => loadFilters(missing)).oneLine()).toBe(`${missing}: cannot read: no such file`);
    const d = join(dir, "a-dir");
    mkdirSync(d);
    expect(errorOf(() => loadFilters(d)).oneLine()).toBe(`${d}: is a directory, not a filter file`);
  });
  it("unreadable files", skipWhen(process.getuid?.() === 0 && "unreadable files: root reads any file, so there is nothing to refuse"), () => {
    const p = put("secret.bpf", writeRaw(ALLOW_ALL, "le"));
    chmodSync(p, 0o000);
    try {
      expect(errorOf(() => loadFilters(p)).oneLine()).toBe(`${p}: cannot read: permission denied`);
    } finally {
      chmodSync(p, 0o600);
    }
  });
  it("a raw file with a partial instruction", () => {
    const p = put("partial.bpf", new Uint8Array([...writeRaw(ALLOW_ALL, "le"), 6, 0, 0]));
    expect(errorOf(() => loadFilters(p)).oneLine()).toBe(
      `${p}: size 35 is not a multiple of 8 (one struct sock_filter is 8 bytes): a partial instruction of 3 bytes starts at byte offset 32 (instruction 4)`,
    );
  });
  it("a thread asked of a raw file", () => {
    const p = put("one.bpf", writeRaw(ALLOW_ALL, "le"));
    expect(errorOf(() => loadFilters(p, { thread: "vcpu" })).oneLine()).toBe(`${p}: is a raw BPF file holding one program; it has no thread "vcpu"`);
  });
  it("text that is no known container", () => {
    const p = put("notes.txt", "just some notes\n");
    expect(errorOf(() => loadFilters(p)).oneLine()).toBe(
      `${p}: is a text file but neither a JSON array of instructions, a policy JSON object, nor C source with a \`struct sock_filter NAME[] = { ... }\` array`,
    );
  });
  it("oversized raw input", () => {
    const p = put("huge.img", new Uint8Array((1 << 20) + 8));
    expect(errorOf(() => loadFilters(p)).message).toContain("too large for a seccomp filter");
  });
});

describe("parseFilterSpec", () => {
  it("splits T@FILE", () => {
    expect(parseFilterSpec("vcpu@/no/such/fc.bin")).toEqual({ file: "/no/such/fc.bin", thread: "vcpu" });
    expect(parseFilterSpec("vcpu@fc@2.bin")).toEqual({ file: "fc@2.bin", thread: "vcpu" });
    expect(parseFilterSpec("plain.bpf")).toEqual({ file: "plain.bpf" });
    expect(parseFilterSpec("-")).toEqual({ file: "-" });
  });
  it("prefers an existing file whose name contains @", () => {
    const p = put("vcpu@2.bpf", writeRaw(ALLOW_ALL, "le"));
    expect(parseFilterSpec(p)).toEqual({ file: p });
    expect(loadFilters(parseFilterSpec(p).file)[0].program.equals(ALLOW_ALL)).toBe(true);
  });
  it("does not take a path prefix for a thread, nor split a leading or trailing @", () => {
    expect(parseFilterSpec("./dir@x/f.bin")).toEqual({ file: "./dir@x/f.bin" });
    expect(parseFilterSpec("@f.bin")).toEqual({ file: "@f.bin" });
    expect(parseFilterSpec("vcpu@")).toEqual({ file: "vcpu@" });
  });
  it("T@FILE end to end", () => {
    const p = put("map.bin", writeBincode(new Map([["vmm", ALLOW_ALL], ["api", ERRNO_ALL]])));
    const { file, thread } = parseFilterSpec(`api@${p}`);
    expect(summary(loadFilters(file, { thread }))).toEqual([["bincode", "api", "le", 1]]);
  });
});

describe("corpus files", () => {
  const golden = corpusPath("libseccomp", "golden-2.5.4");
  it("every libseccomp golden .bpf loads as raw, with the right byte order, and is accepted", () => {
    const files = readdirSync(golden!).filter((f) => f.endsWith(".bpf"));
    expect(files.length).toBe(34);
    for (const f of files) {
      const [lf, ...rest] = loadFilters(join(golden!, f));
      expect(rest).toEqual([]);
      expect(lf.container, f).toBe("raw");
      expect(lf.endian, f).toBe(f.endsWith("_be.bpf") ? "be" : "le");
      expect(check(lf.program), f).toEqual([]);
    }
  });

  const other = corpusPath("golden");
  it("the other golden .bpf files load as little-endian raw programs", () => {
    const files = readdirSync(other!).filter((f) => f.endsWith(".bpf"));
    expect(files.length).toBeGreaterThanOrEqual(5);
    for (const f of files) {
      const [lf] = loadFilters(join(other!, f));
      expect(lf).toMatchObject({ container: "raw", endian: "le" });
      expect(check(lf.program), f).toEqual([]);
    }
    // sizes from PROVENANCE.md
    expect(loadFilters(join(other!, "srt-unix-block-v1-x86_64.bpf"))[0].program.length).toBe(13);
    expect(loadFilters(join(other!, "srt-unix-block-v1-aarch64.bpf"))[0].program.length).toBe(11);
    expect(loadFilters(join(other!, "libseccomp-multiarch-x86_64-x86-x32.bpf"))[0].program.length).toBe(33);
  });

  const fc_ = corpusPath("filters", "firecracker");
  it("Firecracker policy JSONs are recognised as policies", () => {
    const p = join(fc_!, "x86_64-unknown-linux-musl.json");
    expect(errorOf(() => loadFilters(p)).message).toContain("looks like a policy JSON");
  });

  it("a golden file re-containered as bincode, C and JSON loads back identical", () => {
    const [lf] = loadFilters(join(golden!, "05-sim-long_jumps.bpf"));
    const p = lf.program;
    const enc = new TextEncoder();
    const forms: [string, Uint8Array | string][] = [
      ["long.bincode", writeBincode(new Map([["vmm", p]]))],
      ["long.h", writeCHeader([["vmm", p]])],
      ["long.json", writeJsonArray(p)],
      ["long.be", writeRaw(p, "be")],
    ];
    for (const [name, data] of forms) {
      const [back] = loadFilters(put(name, typeof data === "string" ? enc.encode(data) : data));
      expect(back.program.equals(p), name).toBe(true);
    }
  });
});
