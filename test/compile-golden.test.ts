// Golden disassembly of compiler output for small policies: a change of layout shows in review
// as a diff of these files (test/__snapshots__/compile-*.txt). Update with `vitest -u` after
// reading the diff.
import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { compilePolicyText, compileIR } from "../src/policy/index.js";
import { policy, arg } from "../src/policy/builder.js";
import { disassemble } from "../src/text/disasm.js";
import { findArch } from "../src/syscalls/arches.js";
import { repoRoot } from "./support/corpus.js";

const fixture = (n: string) => join(repoRoot, "test/fixtures/policies", n);
const x86_64 = findArch("x86_64")!;

describe("golden compiler output", () => {
  it("seccompiler: bare syscall, dword eq, masked_eq", async () => {
    const r = compilePolicyText(readFileSync(fixture("seccompiler-example.json"), "utf8"), "seccompiler-example.json", { arch: x86_64, thread: "vmm" });
    await expect(disassemble(r.programs[0].program)).toMatchFileSnapshot("__snapshots__/compile-seccompiler-vmm.txt");
  });
  it("OCI: x86_64 + x86 sections, 64-bit and 32-bit compares", async () => {
    const r = compilePolicyText(readFileSync(fixture("oci-small.json"), "utf8"), "oci-small.json", { arch: x86_64 });
    await expect(disassemble(r.programs[0].program)).toMatchFileSnapshot("__snapshots__/compile-oci-small.txt");
  });
  it("builder: 64-bit ranges and several rules on one argument share loads", async () => {
    const ir = policy({ arch: "x86_64", default: "errno(1)" })
      .allow("read", "write", "close", "exit_group")
      .rule("ioctl", [arg(1).dword().eq(0x5401n)], "allow")
      .rule("ioctl", [arg(1).dword().eq(0x5413n)], "allow")
      .rule("ioctl", [arg(1).dword().eq(0x541bn)], "allow")
      .rule("mmap", [arg(1).qword().le(0x40000000n), arg(2).dword().maskedEq(4n, 0n)], "allow")
      .rule("kill", [], "trap")
      .build();
    await expect(disassemble(compileIR(ir))).toMatchFileSnapshot("__snapshots__/compile-builder.txt");
  });
});
