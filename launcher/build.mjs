#!/usr/bin/env node
// Builds the native launcher (launcher/src/*.c) with the system C compiler into the
// git-ignored launcher/build/sysfence-launcher. Run by the package's `install` script (so a user
// who installs sysfence gets a launcher built for their own machine: the package ships sources,
// never the packing machine's binary), by scripts/build.mjs in a checkout, and on demand by the
// tests and the bench. Static linking is tried first (no dynamic loader on the launch path: it
// saves start-up time), then a normal dynamic link.
//
// A binary that is there but built for another machine (its ELF e_machine is not this host's)
// is rebuilt, whatever its age.
//
// Without a C compiler this prints why and exits 0: everything else in sysfence keeps working,
// and `sysfence launch` says the launcher is missing. `--force` rebuilds even when up to date;
// `--quiet` prints only problems; `--out FILE` writes FILE instead (with CC set to a cross
// compiler, this is how CI proves the aarch64 build: see test/package.test.ts).
import { spawnSync } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const srcDir = join(here, "src");
const outDir = join(here, "build");
const outArg = process.argv.indexOf("--out");
const out = outArg > 0 && process.argv[outArg + 1] ? resolve(process.argv[outArg + 1]) : join(outDir, "sysfence-launcher");
const force = process.argv.includes("--force") || outArg > 0;
const quiet = process.argv.includes("--quiet");
const log = (m) => quiet || console.log(`launcher: ${m}`);

const sources = readdirSync(srcDir).filter((f) => f.endsWith(".c")).sort().map((f) => join(srcDir, f));
const inputs = [...sources, ...readdirSync(srcDir).filter((f) => f.endsWith(".h")).map((f) => join(srcDir, f)), fileURLToPath(import.meta.url)];
const mtime = (p) => (existsSync(p) ? statSync(p).mtimeMs : 0);

if (process.platform !== "linux") {
  log(`not built: the launcher is Linux-only (this is ${process.platform})`);
  process.exit(0);
}
/** ELF e_machine per Node arch: a launcher with another machine is not this host's. */
const HOST_MACHINE = { x64: 62, arm64: 183, ia32: 3, arm: 40, riscv64: 243, ppc64: 21, s390x: 22, loong64: 258 }[process.arch];

/** The e_machine of an ELF file (either byte order), or undefined when it is not ELF. */
function elfMachine(path) {
  const b = Buffer.alloc(20);
  const fd = openSync(path, "r");
  try {
    if (readSync(fd, b, 0, 20, 0) < 20 || b.toString("latin1", 0, 4) !== "\x7fELF") return undefined;
  } finally {
    closeSync(fd);
  }
  return b[5] === 2 ? b.readUInt16BE(18) : b.readUInt16LE(18);
}

const foreign = existsSync(out) && HOST_MACHINE !== undefined && elfMachine(out) !== HOST_MACHINE;
if (foreign) log(`${out} was built for another machine (ELF machine ${elfMachine(out)}): rebuilding`);
if (!force && !foreign && mtime(out) > Math.max(...inputs.map(mtime))) {
  log(`up to date (${out})`);
  process.exit(0);
}

const cc = process.env.CC || "cc";
const probe = spawnSync(cc, ["--version"], { stdio: "ignore" });
if (probe.error || probe.status !== 0) {
  console.log(
    `launcher: not built: no C compiler (\`${cc} --version\` failed). sysfence works without it, ` +
      "but `sysfence launch` and launch() need it: install a C compiler (Debian: apt-get install gcc libc6-dev) " +
      "and run `node launcher/build.mjs`.",
  );
  process.exit(0);
}

mkdirSync(dirname(out), { recursive: true });
// Concurrent builds (two test workers) write private names and rename atomically.
const tmp = `${out}.${process.pid}.tmp`;
const common = ["-O2", "-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter", "-D_FORTIFY_SOURCE=2", "-o", tmp, ...sources];
let r = spawnSync(cc, [...common, "-static", "-pthread"], { encoding: "utf8" });
let linkage = "static";
if (r.status !== 0) {
  const why = (r.stderr || "").trim().split("\n").slice(-1)[0];
  r = spawnSync(cc, [...common, "-pthread"], { encoding: "utf8" });
  linkage = `dynamic (static link failed: ${why})`;
}
if (r.status !== 0) {
  rmSync(tmp, { force: true });
  console.error(`launcher: build failed with ${cc}:\n${r.stderr}`);
  // A compiler that exists but cannot build the launcher is a real failure.
  process.exit(1);
}
renameSync(tmp, out);
log(`built ${out} (${linkage})`);
