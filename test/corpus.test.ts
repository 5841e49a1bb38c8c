// Keeps the vendored corpus honest: every file under test/corpus/ is recorded in a PROVENANCE*.md
// (origin, commit, licence, size, SHA-256) and matches its record byte for byte. The row format
// is documented at the top of test/corpus/PROVENANCE.md; branches that add data bring their own
// PROVENANCE-<branch>.md in the same format, so their files are checked here too.
import { describe, it, expect } from "vitest";
import { createHash } from "node:crypto";
import { readFileSync, readdirSync, statSync, existsSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { corpusDir } from "./support/corpus.js";

/** One recorded file: where it is recorded, its path under test/corpus/, size and digest. */
interface Record {
  where: string;
  file: string;
  bytes: number;
  sha256: string;
}

/** `| \`path\` | bytes | \`sha256\` | ...` rows: the one table shape the PROVENANCE files use. */
const ROW = /^\|\s*`([^`]+)`\s*\|\s*(\d+)\s*\|\s*`([0-9a-f]{64})`\s*\|/;

function provenanceFiles(): string[] {
  return readdirSync(corpusDir).filter((n) => /^PROVENANCE.*\.md$/.test(n)).sort();
}

function records(): Record[] {
  const out: Record[] = [];
  for (const p of provenanceFiles()) {
    readFileSync(join(corpusDir, p), "utf8").split("\n").forEach((line, i) => {
      const m = ROW.exec(line);
      if (m) out.push({ where: `${p}:${i + 1}`, file: m[1], bytes: Number(m[2]), sha256: m[3] });
    });
  }
  return out;
}

/** Data files: everything except the provenance files themselves and the licence texts. */
function dataFiles(dir = corpusDir): string[] {
  const out: string[] = [];
  for (const n of readdirSync(dir)) {
    const p = join(dir, n);
    const rel = relative(corpusDir, p).split(sep).join("/");
    if (rel === "LICENSES" || /^PROVENANCE.*\.md$/.test(rel)) continue;
    if (statSync(p).isDirectory()) out.push(...dataFiles(p));
    else out.push(rel);
  }
  return out;
}

describe("vendored corpus", () => {
  const recs = records();

  it("has a PROVENANCE.md that records files", () => {
    expect(provenanceFiles()).toContain("PROVENANCE.md");
    expect(recs.length).toBeGreaterThan(150);
  });

  it("every recorded file exists with its recorded size and SHA-256", () => {
    const bad: string[] = [];
    for (const r of recs) {
      const p = join(corpusDir, r.file);
      if (!existsSync(p)) {
        bad.push(`${r.where}: ${r.file} is missing`);
        continue;
      }
      const data = readFileSync(p);
      if (data.length !== r.bytes) bad.push(`${r.where}: ${r.file} has ${data.length} bytes, recorded ${r.bytes}`);
      const sha = createHash("sha256").update(data).digest("hex");
      if (sha !== r.sha256) bad.push(`${r.where}: ${r.file} has SHA-256 ${sha}, recorded ${r.sha256}`);
    }
    expect(bad).toEqual([]);
  });

  it("every file is recorded exactly once", () => {
    const seen = new Map<string, string>();
    const twice: string[] = [];
    for (const r of recs) {
      const prev = seen.get(r.file);
      if (prev) twice.push(`${r.file}: ${prev} and ${r.where}`);
      seen.set(r.file, r.where);
    }
    expect(twice).toEqual([]);
    const unrecorded = dataFiles().filter((f) => !seen.has(f));
    expect(unrecorded).toEqual([]);
  });

  it("the licence texts the provenance names are present", () => {
    for (const l of ["Apache-2.0.txt", "LGPL-2.1.txt", "GPL-2.0.txt", "Linux-syscall-note.txt"]) {
      expect(existsSync(join(corpusDir, "LICENSES", l)), l).toBe(true);
    }
  });
});
