// Inputs sysfence does not read (issue 12 §5): one line naming what the file looks like,
// "not supported", exit 2, from every command that reads a FILTER or a policy.
import { describe, it, expect } from "vitest";
import { copyFileSync, existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sniffText, sniffMagic } from "../src/formats/detect.js";
import { runCli } from "./support/cli.js";
import { skipWhen } from "./support/skip.js";

const dir = mkdtempSync(join(tmpdir(), "sysfence-unsupported-"));
const sf = (...args: string[]) => runCli(dir, args);

const cases: [string, string | Uint8Array, RegExp][] = [
  ["start.sh", "#!/bin/sh\n# starts the VMM\nexec qemu-system-x86_64 -M microvm\n", /looks like a script \(sh\), not a filter or a policy: not supported/],
  ["tool.py", "#!/usr/bin/env python3\nimport seccomp\n", /looks like a script \(python3\), not a filter or a policy: not supported/],
  ["filter.asm", ".arch x86_64\nld nr\nret ALLOW\n", /looks like sysfence assembly text \(assemble it first: `sysfence asm FILE -o FILE.bpf`\): not supported/],
  ["numbered.asm", "; sysfence disassembly\n0000: ld arch\n0001: ret ALLOW\n", /looks like sysfence assembly text/],
  ["page.html", "<!DOCTYPE html>\n<html></html>\n", /looks like XML or HTML: not supported/],
  ["policy.json.gz", gzipSync(Buffer.from('{"defaultAction":"SCMP_ACT_ALLOW"}')), /looks like gzip-compressed data \(decompress it first\): not supported/],
];

describe("inputs sysfence does not read", () => {
  for (const [name, content, msg] of cases) {
    it(`${name}: one line, exit 2, from compile, check, verify lint and explain`, () => {
      writeFileSync(join(dir, name), content);
      for (const cmd of [["compile", name, "--arch", "x86_64", "-o", "o.bpf"], ["check", name], ["verify", "lint", name], ["explain", name]]) {
        const r = sf(...cmd);
        expect(r.code, cmd.join(" ")).toBe(2);
        expect(r.err.trim().split("\n"), cmd.join(" ")).toHaveLength(1);
        expect(r.err, cmd.join(" ")).toMatch(msg);
        expect(r.err).toContain(`${name}:`);
      }
    });
  }
  it("an ELF binary is named, not read as 4000 raw instructions", skipWhen(!existsSync("/bin/true") && "no /bin/true to copy"), () => {
    copyFileSync("/bin/true", join(dir, "true"));
    for (const cmd of [["check", "true"], ["compile", "true", "-o", "o.bpf"]]) {
      const r = sf(...cmd);
      expect(r.code).toBe(2);
      expect(r.err.trim()).toMatch(/^sysfence: true: looks like an ELF binary \(a program, not a filter: run it under one with `sysfence launch`\): not supported$/);
    }
  });
  it("the sniffers leave real containers alone", () => {
    expect(sniffText("[\n{\"code\": 6, \"k\": 0}]\n").kind).toBe("other");
    expect(sniffText("struct sock_filter f[] = { BPF_STMT(0x06, 0) };\n").kind).toBe("other");
    expect(sniffText("read: 1\nwrite: 1\n")).toMatchObject({ kind: "policy", dialect: "minijail" });
    expect(sniffMagic("\x06\x00\x00\x00")).toBeUndefined();
    expect(sniffMagic("\x7fELF")).toContain("ELF binary");
  });
});
