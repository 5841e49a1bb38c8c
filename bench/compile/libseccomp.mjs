// libseccomp as a peer compiler for the "compile" bench section: the policy IR translated into
// python-seccomp calls (bench/compile/libseccomp.py), built with Debian's python3-seccomp at
// optimize level 1 and 2, exported as raw BPF.
import { execFileSync, spawnSync } from "node:child_process";
import { join } from "node:path";
import { benchDir } from "../lib.mjs";

const ALLOW = 0x7fff0000;
const M32 = 0xffffffffn;
/** ABIs whose arguments libseccomp compares as 32-bit values (docs/formats.md 4.4). */
const ARGS32 = new Set(["x32", "mips64n32", "mipsel64n32"]);
const OPS = { eq: "EQ", ne: "NE", lt: "LT", le: "LE", gt: "GT", ge: "GE", masked_eq: "MASKED_EQ" };

function canImport(py) {
  const r = spawnSync(py, ["-c", "import seccomp"], { stdio: "ignore" });
  return r.status === 0;
}

/** Debian's libseccomp version (dpkg), for the report. */
function libseccompVersion() {
  try {
    return execFileSync("dpkg-query", ["-W", "-f=${Version}", "python3-seccomp"], { encoding: "utf8" }).trim();
  } catch {
    return "unknown version";
  }
}

/**
 * A python3 that can `import seccomp`, installing python3-seccomp with apt-get when it is
 * missing (root only). Returns { python, version } or { skip: reason }.
 */
export function ensurePythonSeccomp(log) {
  const pythons = ["/usr/bin/python3", "python3"];
  const found = () => pythons.find((p) => canImport(p));
  let py = found();
  if (!py) {
    if (typeof process.getuid === "function" && process.getuid() !== 0) {
      return { skip: "python3-seccomp is not installed and this is not root (apt-get install -y python3-seccomp)" };
    }
    const apt = (args) => spawnSync("apt-get", args, {
      stdio: ["ignore", "ignore", "pipe"], timeout: 300_000, encoding: "utf8",
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    });
    log("compile: installing python3-seccomp (apt-get)");
    let r = apt(["install", "-y", "-qq", "python3-seccomp"]);
    if (r.status !== 0) {
      apt(["update", "-qq"]);
      r = apt(["install", "-y", "-qq", "python3-seccomp"]);
    }
    py = found();
    if (!py) {
      const why = r.error ? r.error.message : String(r.stderr ?? "").trim().split("\n").pop();
      return { skip: `python3-seccomp could not be installed (${why || "apt-get failed"})` };
    }
  }
  return { python: py, version: `libseccomp ${libseccompVersion()} (python3-seccomp)` };
}

/**
 * The libseccomp request for one IR at one optimize level. Sections that share an AUDIT_ARCH
 * token (x86_64 and x32) go into one libseccomp filter, as runc builds them: the main ABI's rules,
 * then the rules of syscalls only the other ABI has; libseccomp adds each rule to every ABI of
 * the filter that has the syscall. Notes what could not be expressed: rules whose action is the
 * default (libseccomp refuses them), two conditions on one argument (refused), and 32-bit
 * non-equality compares on a 64-bit ABI (libseccomp has no low-word mode; compared as 64-bit
 * values here).
 */
export function toRequest(ir, id, level) {
  const notes = { sameAsDefault: 0, dupIndex: 0, approx32: 0 };
  const groups = [];
  const sorted = [...ir.arches].sort((a, b) => (a.arch.nrBase === 0x40000000) - (b.arch.nrBase === 0x40000000));
  for (const sec of sorted) {
    let g = groups.find((x) => x.token === sec.arch.token);
    if (!g) groups.push((g = { token: sec.arch.token, arches: [], rules: [], names: new Set() }));
    g.arches.push(sec.arch.name);
    const args32 = sec.arch.bits === 32 || ARGS32.has(sec.arch.name);
    const mine = new Set();
    for (const s of sec.syscalls) {
      if (g.names.has(s.name)) continue; // the group's main ABI already gave this syscall's rules
      mine.add(s.name);
      for (const r of s.rules) {
        if (r.action >>> 0 === sec.defaultAction >>> 0) {
          notes.sameAsDefault++;
          continue;
        }
        const idx = r.conditions.map((c) => c.index);
        if (new Set(idx).size !== idx.length) notes.dupIndex++;
        const args = r.conditions.map((c) => {
          const v = BigInt.asUintN(64, c.value);
          const m = BigInt.asUintN(64, c.mask ?? 0n);
          if (c.width === 32 && !args32) {
            // Low-word semantics on a 64-bit ABI: MASKED_EQ with the mask's low half, as
            // Firecracker >= 1.11 maps seccompiler's dword eq.
            if (c.op === "eq") return [c.index, "MASKED_EQ", String(M32), String(v & M32)];
            if (c.op === "masked_eq") return [c.index, "MASKED_EQ", String(m & M32), String(v & m & M32)];
            notes.approx32++;
          }
          if (c.op === "masked_eq") return [c.index, "MASKED_EQ", String(m), String(v & m)];
          return [c.index, OPS[c.op], String(v), "0"];
        });
        g.rules.push({ name: s.name, action: r.action >>> 0, args });
      }
    }
    for (const n of mine) g.names.add(n);
  }
  const def = ir.arches[0].defaultAction >>> 0;
  if (ir.arches.some((a) => a.defaultAction >>> 0 !== def)) notes.mixedDefaults = true;
  return {
    filter: {
      id, level, default: def, badarch: ir.mismatchAction >>> 0,
      groups: groups.map(({ arches, rules }) => ({ arches, rules })),
    },
    notes,
  };
}

/** Builds every request in one python3 run; returns {id: {bytes} | {error}} and stderr lines. */
export function buildAll(python, filters) {
  const script = join(benchDir, "compile", "libseccomp.py");
  const r = spawnSync(python, [script], {
    input: JSON.stringify({ filters }),
    encoding: "utf8",
    maxBuffer: 64 << 20,
    timeout: 120_000,
  });
  if (r.status !== 0) {
    throw new Error(`libseccomp.py failed (${r.status ?? r.signal}): ${String(r.stderr).trim().split("\n").slice(-3).join(" / ")}`);
  }
  const res = JSON.parse(r.stdout).results;
  const out = {};
  for (const [id, v] of Object.entries(res)) {
    out[id] = v.error ? { error: v.error } : { bytes: new Uint8Array(Buffer.from(v.bpf, "base64")), skipped: v.skipped };
  }
  return { results: out, stderr: String(r.stderr).trim().split("\n").filter(Boolean) };
}

export { ALLOW };
