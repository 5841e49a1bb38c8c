import { describe, it, expect } from "vitest";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import {
  ARCHES, resolveArch, syscallNumber, syscallName, resolveSyscall, syscallNames, syscallCount,
  findArch, type ArchInfo,
} from "../src/syscalls/index.js";
import { SYSCALL_TABLES } from "../src/syscalls/tables.generated.js";
import { InputError, UnknownArchError, UnknownSyscallError } from "../src/errors.js";
import { corpusPath } from "./support/corpus.js";

const arch = (n: string): ArchInfo => resolveArch(n);

describe("resolveArch", () => {
  it("accepts names, aliases, kernel constant names and tokens", () => {
    expect(resolveArch("x86_64").name).toBe("x86_64");
    expect(resolveArch("amd64").name).toBe("x86_64");
    expect(resolveArch("ARM64").name).toBe("aarch64");
    expect(resolveArch("i386").name).toBe("x86");
    expect(resolveArch("AUDIT_ARCH_S390X").name).toBe("s390x");
    expect(resolveArch("0x80000016").name).toBe("s390x");
    expect(resolveArch(0x40000003).name).toBe("x86");
    expect(resolveArch(" 0xC00000B7 ").name).toBe("aarch64");
    expect(resolveArch(String(0xc000003e)).name).toBe("x86_64");
  });
  it("gives x86_64, not x32, for AUDIT_ARCH_X86_64", () => {
    expect(resolveArch("0xc000003e").name).toBe("x86_64");
    expect(resolveArch(0xc000003e).name).toBe("x86_64");
    expect(resolveArch("AUDIT_ARCH_X86_64").name).toBe("x86_64");
  });
  it("passes an ArchInfo through", () => {
    const a = findArch("mips")!;
    expect(resolveArch(a)).toBe(a);
  });
  it("throws UnknownArchError for anything else", () => {
    for (const bad of ["vax", "", "0xc0000016", 0xc0000016, "0x1ffffffff", "AUDIT_ARCH_VAX", -1, 1.5]) {
      expect(() => resolveArch(bad as string | number)).toThrow(UnknownArchError);
    }
    expect(() => resolveArch("vax")).toThrow(/unknown arch "vax"/);
    try {
      resolveArch("vax", "policy.json:3");
    } catch (e) {
      expect((e as InputError).oneLine()).toBe('policy.json:3: unknown arch "vax"');
    }
  });
  it("resolves every ABI by name and by token to an ABI with that token", () => {
    for (const a of ARCHES) {
      expect(resolveArch(a.name)).toBe(a);
      for (const al of a.aliases) expect(resolveArch(al)).toBe(a);
      expect(resolveArch(a.token).token).toBe(a.token);
      expect(resolveArch("0x" + a.token.toString(16)).token).toBe(a.token);
    }
  });
});

describe("syscall numbers", () => {
  it("knows the anchors", () => {
    expect(syscallNumber("x86_64", "read")).toBe(0);
    expect(syscallNumber("x86_64", "mmap")).toBe(9);
    expect(syscallNumber("x86_64", "execve")).toBe(59);
    expect(syscallNumber("x86", "execve")).toBe(11);
    expect(syscallNumber("x32", "read")).toBe(0x40000000);
    expect(syscallNumber("x32", "execve")).toBe(0x40000000 + 520);
    expect(syscallNumber("x32", "rt_sigaction")).toBe(0x40000000 + 512);
    expect(syscallNumber("aarch64", "openat")).toBe(56);
    expect(syscallNumber("aarch64", "open")).toBeUndefined();
    expect(syscallNumber("mips", "read")).toBe(4003);
    expect(syscallNumber("mipsel", "read")).toBe(4003);
    expect(syscallNumber("mips64", "read")).toBe(5000);
    expect(syscallNumber("mips64n32", "read")).toBe(6000);
    expect(syscallNumber("s390x", "seccomp")).toBe(348);
    expect(syscallNumber("riscv64", "seccomp")).toBe(277);
    expect(syscallNumber("x86", "seccomp")).toBe(354);
    expect(syscallNumber("arm", "set_tls")).toBe(0x0f0005);
    expect(syscallNumber("x86_64", "no_such_call")).toBeUndefined();
  });
  it("maps seccomp_data.nr values back to names, bases included", () => {
    expect(syscallName("x86_64", 59)).toBe("execve");
    expect(syscallName("x86_64", 0x40000000)).toBeUndefined();
    expect(syscallName("x32", 0x40000208)).toBe("execve");
    expect(syscallName("x32", 0)).toBeUndefined();
    expect(syscallName("mips", 4003)).toBe("read");
    expect(syscallName("mips", 3)).toBeUndefined();
    expect(syscallName("x86_64", -1)).toBeUndefined();
    expect(syscallName("x86_64", 0xffffffff)).toBeUndefined();
    expect(syscallName("x86_64", 1.5)).toBeUndefined();
    expect(syscallName("aarch64", 56)).toBe("openat");
  });
  it("round-trips every name of every ABI", () => {
    const bad: string[] = [];
    for (const a of ARCHES) {
      const names = syscallNames(a);
      expect(names.length).toBeGreaterThan(250);
      expect(new Set(names).size).toBe(names.length);
      for (const n of names) {
        const nr = syscallNumber(a, n)!;
        if (syscallName(a, nr) !== n || resolveSyscall(a, n) !== nr) bad.push(`${a.name} ${n} ${nr}`);
      }
    }
    expect(bad).toEqual([]);
  });
  it("syscallNames returns a fresh array in number order", () => {
    const names = syscallNames("x86_64");
    expect(names.slice(0, 3)).toEqual(["read", "write", "open"]);
    names.length = 0;
    expect(syscallNames("x86_64").length).toBeGreaterThan(300);
  });
  it("syscallCount is the highest table number + 1", () => {
    expect(syscallCount("x86_64")).toBe(472);
    expect(syscallCount("x32")).toBe(548);
    expect(syscallCount("mips")).toBe(472); // table numbers: no o32 base
    expect(syscallCount("s390")).toBe(470);
    expect(syscallCount("arm")).toBe(472); // ARM private calls (0x0f0000+) excluded
    for (const a of ARCHES) {
      const max = Math.max(...syscallNames(a).map((n) => syscallNumber(a, n)! - a.nrBase).filter((n) => n < 0x0f0000));
      expect(syscallCount(a)).toBe(max + 1);
    }
  });
  it("has a generated table for exactly the tables ARCHES uses", () => {
    expect(new Set(Object.keys(SYSCALL_TABLES))).toEqual(new Set(ARCHES.map((a) => a.table)));
  });
});

describe("resolveSyscall", () => {
  it("accepts names and numbers; numbers are seccomp_data.nr values as-is", () => {
    expect(resolveSyscall("x86_64", "execve")).toBe(59);
    expect(resolveSyscall("x86_64", "EXECVE")).toBe(59);
    expect(resolveSyscall("x32", "execve")).toBe(0x40000208);
    expect(resolveSyscall("x32", "520")).toBe(520);
    expect(resolveSyscall("x32", "0x40000208")).toBe(0x40000208);
    expect(resolveSyscall("mips", "3")).toBe(3);
    expect(resolveSyscall("x86_64", " 999 ")).toBe(999);
    expect(resolveSyscall("x86_64", "0XFFFFFFFF")).toBe(0xffffffff);
    expect(resolveSyscall("x86_64", "-1")).toBe(0xffffffff);
    expect(resolveSyscall("x86_64", "-2147483648")).toBe(0x80000000);
  });
  it("throws UnknownSyscallError naming the arch and the place", () => {
    expect(() => resolveSyscall("aarch64", "open")).toThrow(UnknownSyscallError);
    expect(() => resolveSyscall("aarch64", "open")).toThrow('unknown syscall "open" for arch aarch64');
    for (const bad of ["0x100000000", "4294967296", "-2147483649", "", "12abc", "0x"]) {
      expect(() => resolveSyscall("x86_64", bad)).toThrow(UnknownSyscallError);
    }
    try {
      resolveSyscall("x86", "nope", "rules.txt:7");
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(UnknownSyscallError);
      expect((e as UnknownSyscallError).oneLine()).toBe('rules.txt:7: unknown syscall "nope" for arch x86');
      expect((e as UnknownSyscallError).arch).toBe("x86");
    }
  });
});

describe("corpus agreement", () => {
  const dir = corpusPath("syscalls");

  it("every TSV row round-trips through the lookup module", () => {
    const files = readdirSync(dir!).filter((f) => /^libseccomp-.*\.tsv$/.test(f));
    expect(files.length).toBe(18);
    let rows = 0;
    const bad: string[] = [];
    for (const f of files) {
      const key = f.slice("libseccomp-".length, -".tsv".length);
      const users = ARCHES.filter((a) => a.table === key);
      expect(users.length, `no ABI uses ${f}`).toBeGreaterThan(0);
      for (const line of readFileSync(join(dir!, f), "utf8").split("\n")) {
        if (line === "" || line.startsWith("#")) continue;
        const [nrText, name] = line.split("\t");
        const nr = Number(nrText);
        rows++;
        for (const a of users) {
          if (syscallNumber(a, name) !== nr + a.nrBase) bad.push(`${f}: ${a.name} ${name} -> ${syscallNumber(a, name)}`);
          if (syscallName(a, nr + a.nrBase) !== name) bad.push(`${f}: ${a.name} ${nr} -> ${syscallName(a, nr + a.nrBase)}`);
        }
      }
      // And nothing extra: the generated table has exactly the TSV's names.
      const tsvNames = readFileSync(join(dir!, f), "utf8").split("\n")
        .filter((l) => l && !l.startsWith("#")).map((l) => l.split("\t")[1]);
      expect(syscallNames(users[0]).sort()).toEqual([...new Set(tsvNames)].sort());
    }
    expect(bad).toEqual([]);
    expect(rows).toBeGreaterThan(6000);
  });

  it("the committed tables.generated.ts is what the generator makes from the corpus", async () => {
    // @ts-expect-error plain .mjs script without declarations
    const gen = await import("../scripts/gen-syscalls.mjs");
    const committed = readFileSync(new URL("../src/syscalls/tables.generated.ts", import.meta.url), "utf8");
    expect(await gen.render(dir)).toBe(committed);
  });

  /**
   * libseccomp's x86_64 table against the kernel's syscall_64.tbl (common + 64 rows). The two
   * snapshots differ only where the kernel file is older than the CSV; each difference is listed
   * here with its reason. Anything else fails.
   */
  const X86_64_ONLY_IN_LIBSECCOMP: Record<string, string> = {
    // uprobe (336) was added to the kernel after the syscall_64.tbl snapshot in the corpus
    // (it has uretprobe 335 but stops short of 336).
    "336 uprobe": "newer than the kernel snapshot",
    // Linux 6.13+ calls; the corpus's syscall_64.tbl ends at 462 (mseal).
    "463 setxattrat": "newer than the kernel snapshot",
    "464 getxattrat": "newer than the kernel snapshot",
    "465 listxattrat": "newer than the kernel snapshot",
    "466 removexattrat": "newer than the kernel snapshot",
    "467 open_tree_attr": "newer than the kernel snapshot",
    "468 file_getattr": "newer than the kernel snapshot",
    "469 file_setattr": "newer than the kernel snapshot",
    "470 listns": "newer than the kernel snapshot",
    "471 rseq_slice_yield": "newer than the kernel snapshot",
  };
  /** Rows the kernel has and libseccomp does not: none known. */
  const X86_64_ONLY_IN_KERNEL: Record<string, string> = {};

  function kernelRows(abis: string[]): Set<string> {
    const out = new Set<string>();
    for (const line of readFileSync(join(dir!, "syscall_64.tbl"), "utf8").split("\n")) {
      const t = line.trim();
      if (!t || t.startsWith("#")) continue;
      const [nr, abi, name] = t.split(/\s+/);
      if (abis.includes(abi)) out.add(`${nr} ${name}`);
    }
    return out;
  }
  function ourRows(a: string): Set<string> {
    return new Set(syscallNames(a).map((n) => `${syscallNumber(a, n)! - arch(a).nrBase} ${n}`));
  }
  function compare(ours: Set<string>, kernel: Set<string>, onlyOurs: Record<string, string>, onlyKernel: Record<string, string>) {
    const extra = [...ours].filter((r) => !kernel.has(r)).sort();
    const missing = [...kernel].filter((r) => !ours.has(r)).sort();
    expect(extra).toEqual(Object.keys(onlyOurs).sort());
    expect(missing).toEqual(Object.keys(onlyKernel).sort());
  }

  it("x86_64 agrees with the kernel's syscall_64.tbl (common + 64), with listed exceptions", () => {
    compare(ourRows("x86_64"), kernelRows(["common", "64"]), X86_64_ONLY_IN_LIBSECCOMP, X86_64_ONLY_IN_KERNEL);
  });

  it("x32 agrees with syscall_64.tbl (common + x32), with the same exceptions", () => {
    // The same file also defines x32 (numbers without the x32 bit). The "common" rows shared
    // with x86_64 include the newer calls above, so the exception list is the same one.
    compare(ourRows("x32"), kernelRows(["common", "x32"]), X86_64_ONLY_IN_LIBSECCOMP, X86_64_ONLY_IN_KERNEL);
  });
});
