// Argument decoding: number forms, symbolic constants per ABI (and "unknown" where an ABI's value
// is not known here), ioctl encodings checked against Firecracker's own numbers.
import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { ValueDecoder } from "../src/traces/values.js";
import { constantValue, constantName } from "../src/traces/constants.js";
import { findArch } from "../src/syscalls/index.js";
import { corpusPath } from "./support/corpus.js";

function dec(arch: string, text: string): bigint | undefined {
  const d = new ValueDecoder(findArch(arch)!);
  const b = Buffer.from(text, "latin1");
  return d.decodeArg(b, 0, b.length) ? (BigInt(d.hi) << 32n) | BigInt(d.lo) : undefined;
}

describe("number forms", () => {
  it.each([
    ["0", 0n], ["832", 832n], ["0x7fb08f0fa000", 0x7fb08f0fa000n], ["0666", 0o666n], ["-1", 0xffffffffffffffffn],
    ["-100", 0xffffffffffffff9cn], ["4294967295", 0xffffffffn], ["18446744073709551615", 0xffffffffffffffffn],
    ["0xffffffffffffffff", 0xffffffffffffffffn], ["NULL", 0n], ["  42  ", 42n], ["3</dev/null>", 3n],
    ["3<socket:[12345]>", 3n], ["0x7fff56e7c058 /* 39 vars */", 0x7fff56e7c058n], ["flags=0x11", 0x11n],
  ])("%s", (text, want) => {
    expect(dec("x86_64", text)).toBe(want);
  });
  it.each([
    ['"/etc/passwd"', "a string"], ['"abc"...', "a truncated string"], ["[3, 4]", "an array"],
    ["{st_mode=S_IFREG|0644, ...}", "a struct"], ["~[ILL FPE]", "a signal set"], ["0x10000000000000000", "over 64 bits"],
    ["123456789012345678901", "over 64 bits (decimal)"], ["WHATEVER_CONSTANT", "an unknown name"],
    ["O_RDONLY|NOPE", "a flag set with an unknown name"], ["3 4", "junk after a number"],
    ["<... resuming interrupted nanosleep ...>", "a resume marker"], ["htons(ETH_P_ALL)", "an unknown function"],
  ])("%s is unknown (%s)", (text) => {
    expect(dec("x86_64", text)).toBeUndefined();
  });
});

describe("symbolic constants", () => {
  it("flag sets, shifts, alternatives, makedev, _IOC", () => {
    expect(dec("x86_64", "O_RDONLY|O_CLOEXEC")).toBe(0x80000n);
    expect(dec("x86_64", "PROT_READ|PROT_WRITE|PROT_EXEC")).toBe(7n);
    expect(dec("x86_64", "SOCK_STREAM|SOCK_CLOEXEC")).toBe(0x80001n);
    expect(dec("x86_64", "FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME")).toBe(393n);
    expect(dec("x86_64", "FUTEX_OP_SET<<28|0<<12|FUTEX_OP_CMP_GT<<24|0x1")).toBe(0x04000001n);
    expect(dec("x86_64", "SNDCTL_TMR_START or TCSETS")).toBe(0x5402n);
    expect(dec("x86_64", "S_IFCHR|0600")).toBe(0o20600n);
    expect(dec("x86_64", "makedev(0x1, 0x3)")).toBe(0x103n);
    expect(dec("x86_64", "makedev(0x103, 0x1ff)")).toBe(((0x1ffn & 0xffn) | (0x103n << 8n) | ((0x1ffn & ~0xffn) << 12n)));
    expect(dec("x86_64", "_IOC(_IOC_READ|_IOC_WRITE, 0xae, 0x5, 0x8)")).toBe(0xc008ae05n);
    expect(dec("x86_64", "_IOC(_IOC_NONE, 0xae, 0x80, 0)")).toBe(0xae80n);
    expect(dec("x86_64", "SIGRT_1")).toBe(33n);
    expect(dec("x86_64", "CLONE_VM|CLONE_FS|SIGCHLD")).toBe(0x300n | 17n);
  });

  it("per-ABI values, and unknown where this module does not know an ABI's value", () => {
    expect(dec("aarch64", "O_DIRECTORY")).toBe(0x4000n);
    expect(dec("x86_64", "O_DIRECTORY")).toBe(0x10000n);
    expect(dec("ppc64le", "O_LARGEFILE")).toBe(0x10000n);
    expect(dec("mips", "SOCK_STREAM")).toBe(2n);
    expect(dec("mips", "MAP_ANONYMOUS")).toBe(0x800n);
    expect(dec("mips", "O_NONBLOCK|O_CREAT")).toBe(0x180n);
    expect(dec("x86", "MAP_32BIT")).toBe(0x40n);
    expect(dec("aarch64", "MAP_32BIT")).toBeUndefined();
    expect(dec("ppc64le", "TCGETS")).toBeUndefined(); // 0x402c7413 there; not guessed
    expect(dec("mips", "SIGCHLD")).toBeUndefined();
    expect(dec("parisc", "O_CREAT")).toBeUndefined();
    // _IOC encodes per ABI: 3 direction bits on ppc/mips, READ/WRITE swapped on parisc.
    expect(dec("ppc64le", "KVM_RUN")).toBe(0x2000ae80n);
    expect(dec("parisc", "TUNSETIFF")).toBe(0x800454can);
    expect(dec("aarch64", "KVM_GET_REGS")).toBeUndefined(); // x86's struct
  });

  it("names for comments", () => {
    const x = findArch("x86_64")!;
    expect(constantName(x, 0x80001, ["SOCK_"], ["SOCK_NONBLOCK", "SOCK_CLOEXEC"])).toBe("SOCK_STREAM|SOCK_CLOEXEC");
    expect(constantName(x, 0x5401, ["TC", "TIOC", "FIO"])).toBe("TCGETS");
    expect(constantName(x, 12345678, ["TC"])).toBeUndefined();
    expect(constantValue(x, "AT_FDCWD")).toBe(-100);
  });
});

describe("ioctl numbers against Firecracker's own (corpus seccompiler JSON comments)", () => {
  for (const arch of ["x86_64", "aarch64"]) {
    it(arch, () => {
      const file = corpusPath("filters", "firecracker", `${arch}-unknown-linux-musl.json`);
      const seen = new Set<string>();
      const unknown = new Set<string>();
      const walk = (o: unknown, sys?: string): void => {
        if (Array.isArray(o)) return o.forEach((x) => walk(x, sys));
        if (!o || typeof o !== "object") return;
        const r = o as Record<string, unknown>;
        const s = (r.syscall as string) ?? sys;
        if (s === "ioctl" && r.index === 1 && typeof r.val === "number" && typeof r.comment === "string") {
          const name = r.comment.split(/[ ,.]/)[0];
          const mine = constantValue(findArch(arch)!, name);
          if (mine === undefined) unknown.add(name);
          else {
            expect(mine >>> 0, `${name} on ${arch}`).toBe(r.val);
            seen.add(name);
          }
        }
        Object.values(r).forEach((v) => walk(v, s));
      };
      walk(JSON.parse(readFileSync(file, "utf8")));
      // Every ioctl Firecracker's filter names is known here, with Firecracker's number.
      expect([...unknown]).toEqual([]);
      expect(seen.size).toBeGreaterThanOrEqual(arch === "x86_64" ? 30 : 19);
    });
  }
});
