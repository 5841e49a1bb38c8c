// The launcher as an installing machine gets it: launcher/build.mjs builds for the host (a binary
// built for another machine is rebuilt), and the sources cross-compile statically for aarch64
// (Debian's gcc-aarch64-linux-gnu, installed in CI by scripts/ci.d/30-gcc-aarch64.sh). The
// pack-and-install check itself needs the registry and runs in CI: scripts/pack-check.sh.
import { describe, it, expect } from "vitest";
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot } from "./support/corpus.js";
import { skipWhen } from "./support/skip.js";

const EM_X86_64 = 62;
const EM_AARCH64 = 183;
const HOST_MACHINE: Record<string, number> = { x64: EM_X86_64, arm64: EM_AARCH64 };

/** ELF class, machine and whether it asks for a dynamic loader (a PT_INTERP program header). */
function elfInfo(path: string): { machine: number; interp: boolean } {
  const b = readFileSync(path);
  expect(b.toString("latin1", 0, 4)).toBe("\x7fELF");
  expect(b[4]).toBe(2); // 64-bit
  expect(b[5]).toBe(1); // little-endian (both targets here)
  const phoff = Number(b.readBigUInt64LE(32));
  const phentsize = b.readUInt16LE(54);
  const phnum = b.readUInt16LE(56);
  let interp = false;
  for (let i = 0; i < phnum; i++) if (b.readUInt32LE(phoff + i * phentsize) === 3) interp = true;
  return { machine: b.readUInt16LE(18), interp };
}

const have = (cmd: string) => spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;
const build = (args: string[], env: Record<string, string> = {}, script = join(repoRoot, "launcher", "build.mjs")) =>
  spawnSync(process.execPath, [script, ...args], { encoding: "utf8", env: { ...process.env, ...env }, timeout: 120_000 });

const noCross = have("aarch64-linux-gnu-gcc") ? undefined : "aarch64 launcher build: no aarch64-linux-gnu-gcc (scripts/ci.d/30-gcc-aarch64.sh installs gcc-aarch64-linux-gnu)";
const noCc = have("cc") ? undefined : "launcher build: no C compiler (cc)";

describe("the launcher build", () => {
  it("cross-compiles statically for aarch64: an AArch64 ELF without a dynamic loader", skipWhen(noCross), () => {
    const dir = mkdtempSync(join(tmpdir(), "sf-aarch64-"));
    try {
      const out = join(dir, "sysfence-launcher");
      const r = build(["--out", out], { CC: "aarch64-linux-gnu-gcc" });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/\(static\)/);
      expect(elfInfo(out)).toEqual({ machine: EM_AARCH64, interp: false });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const hostMachine = HOST_MACHINE[process.arch];
  const why = noCross ?? noCc ?? (hostMachine === undefined ? `no ELF machine recorded for ${process.arch}` : undefined)
    ?? (hostMachine === EM_AARCH64 ? "the foreign-binary check needs a host that is not aarch64" : undefined);
  it("rebuilds a launcher that was built for another machine, however new it is", skipWhen(why), () => {
    // A copy of launcher/ whose build/ holds an aarch64 binary newer than the sources, as a
    // tarball packed on an aarch64 machine would bring.
    const dir = mkdtempSync(join(tmpdir(), "sf-foreign-"));
    try {
      cpSync(join(repoRoot, "launcher", "src"), join(dir, "src"), { recursive: true });
      cpSync(join(repoRoot, "launcher", "build.mjs"), join(dir, "build.mjs"));
      mkdirSync(join(dir, "build"));
      const bin = join(dir, "build", "sysfence-launcher");
      expect(build(["--out", bin], { CC: "aarch64-linux-gnu-gcc" }).status).toBe(0);
      expect(elfInfo(bin).machine).toBe(EM_AARCH64);
      const r = build([], {}, join(dir, "build.mjs"));
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/built for another machine \(ELF machine 183\): rebuilding/);
      expect(elfInfo(bin).machine).toBe(hostMachine);
      // Now it is this machine's and up to date: left alone.
      expect(build([], {}, join(dir, "build.mjs")).stdout).toMatch(/up to date/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the package", () => {
  const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8"));
  it("builds the launcher on the installing machine and never ships a built one", () => {
    expect(pkg.scripts.install).toBe("node launcher/build.mjs");
    expect(pkg.files).toContain("launcher");
    expect(pkg.files).toContain("!launcher/build");
  });
  it("lists what it packs: `npm pack --dry-run` has the bundle, the engine, the launcher sources and no binary", () => {
    const r = spawnSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: repoRoot, encoding: "utf8", timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    const files: string[] = JSON.parse(r.stdout)[0].files.map((f: { path: string }) => f.path);
    for (const f of ["bin/sysfence.js", "dist/cli.js", "dist/index.js", "dist/sysfence.wasm", "launcher/build.mjs", "launcher/src/main.c", "filters/qemu-microvm.seccompiler.json"]) {
      expect(files, f).toContain(f);
    }
    expect(files.filter((f) => f.startsWith("launcher/build/") || f.endsWith(".map") || f.startsWith("test/"))).toEqual([]);
  });
});
