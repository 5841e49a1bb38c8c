// Shared helpers for the bench sections: paths, timing, statistics, formatting.
import { existsSync, mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const benchDir = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(benchDir, "..");
/** Scratch output (compiled helpers, input files); git-ignored. */
export const outDir = join(benchDir, ".out");
/** The vendored test corpus (test/corpus/, see its PROVENANCE.md). */
export const corpusDir = join(repoRoot, "test", "corpus");

export function ensureOutDir() {
  mkdirSync(outDir, { recursive: true });
  return outDir;
}

export function hasCorpus() {
  return existsSync(corpusDir);
}

/** Nanoseconds from a monotonic clock, as a Number. */
export function nowNs() {
  return Number(process.hrtime.bigint());
}

/** Runs `fn` `warmup` times untimed, then `runs` times timed; returns the run times in ns. */
export function timeRuns(fn, { runs, warmup }) {
  for (let i = 0; i < warmup; i++) fn();
  const times = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    times.push(Number(process.hrtime.bigint() - t0));
  }
  return times;
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** FNV-1a over the bytes of 32-bit values (little-endian), as bench/native/interp.c does. */
export function fnv1a32(values) {
  let h = 0x811c9dc5;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    for (let b = 0; b < 4; b++) {
      h ^= (v >>> (8 * b)) & 0xff;
      h = Math.imul(h, 0x01000193) >>> 0;
    }
  }
  return h >>> 0;
}

/** 1234567 -> "1.23 M", 1.2e9 -> "1.20 G". */
export function si(x) {
  if (!Number.isFinite(x)) return "-";
  const units = [[1e9, "G"], [1e6, "M"], [1e3, "k"]];
  for (const [f, u] of units) if (Math.abs(x) >= f) return `${(x / f).toFixed(2)} ${u}`;
  return x.toFixed(2);
}

export function ratio(a, b) {
  return Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(2)}x` : "-";
}

/** A plain text table: columns = [{title, align: "l"|"r"}], rows = arrays of strings. */
export function formatTable(columns, rows) {
  const widths = columns.map((c, i) => Math.max(c.title.length, ...rows.map((r) => String(r[i]).length)));
  const cell = (s, i) => (columns[i].align === "l" ? String(s).padEnd(widths[i]) : String(s).padStart(widths[i]));
  const line = (cells) => cells.map(cell).join("  ").trimEnd();
  return [line(columns.map((c) => c.title)), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}
