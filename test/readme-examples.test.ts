// The README's console examples, a chosen set, run as written against the vendored corpus and the
// bundled filters: every line the README shows must be printed, in that order (the README shows
// excerpts: it may leave lines out). A line ending in "…" matches any line that starts with the
// text before it; a lone "…" line only marks an elision.
import { describe, it, expect, beforeAll } from "vitest";
import { copyFileSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot, corpusPath } from "./support/corpus.js";
import { runCli } from "./support/cli.js";

/** Each `$ sysfence …` line of the README's console blocks, with the lines shown after it. */
function consoleExamples(): Map<string, string[]> {
  const text = readFileSync(join(repoRoot, "README.md"), "utf8");
  const out = new Map<string, string[]>();
  for (const block of text.matchAll(/```console\n([\s\S]*?)```/g)) {
    let cmd: string | undefined;
    for (const line of block[1].split("\n")) {
      if (line.startsWith("$ ")) {
        cmd = line.slice(2).trim();
        out.set(cmd, []);
      } else if (cmd !== undefined && line !== "") out.get(cmd)!.push(line);
    }
  }
  return out;
}

/** Whether the README's SHOWN lines appear among the PRINTED lines, in order. */
function matches(printed: string[], shown: string[]): boolean {
  let p = 0;
  for (const want of shown) {
    if (want === "…") continue;
    while (p < printed.length && !lineMatches(printed[p], want)) p++;
    if (p === printed.length) return false;
    p++;
  }
  return true;
}

function lineMatches(got: string, want: string): boolean {
  return want.endsWith("…") ? got.startsWith(want.slice(0, -1).trimEnd()) : got.trimEnd() === want.trimEnd();
}

/** README command -> the files it names, as found in the corpus or the bundled filters. */
const FILES: Record<string, string> = {
  "resources/seccomp/x86_64-unknown-linux-musl.json": corpusPath("filters", "firecracker", "x86_64-unknown-linux-musl.json"),
  "fc-x86_64.json": corpusPath("filters", "firecracker", "x86_64-unknown-linux-musl.json"),
  "v1.10.1.json": corpusPath("filters", "firecracker", "v1.10.1", "x86_64-unknown-linux-musl.json"),
  "default.json": corpusPath("profiles", "moby-profiles-seccomp-default.json"),
  "qemu-tcg-boot.strace.txt": corpusPath("traces", "qemu-tcg-boot.strace.txt"),
};

describe("README console examples", () => {
  const examples = consoleExamples();
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "sf-readme-"));
    for (const [name, src] of Object.entries(FILES)) {
      const base = name.split("/").pop()!;
      copyFileSync(src, join(dir, base));
    }
  });

  /** Runs a README command (file names mapped to the copies in DIR) and returns its lines. */
  const run = (cmd: string) => {
    const args = cmd.split(/\s+/).slice(1).map((a) => a.replace("resources/seccomp/", ""));
    const r = runCli(dir, args);
    return { ...r, lines: (r.out + r.err).split("\n").filter((l) => l !== "") };
  };

  const chosen = [
    "sysfence compile resources/seccomp/x86_64-unknown-linux-musl.json --arch x86_64 --format bincode -o fc.bin",
    "sysfence check --cache fc.bin --thread vmm",
    "sysfence replay vmm@fc-x86_64.json qemu-tcg-boot.strace.txt --arch x86_64",
    "sysfence learn qemu-tcg-boot.strace.txt --arch x86_64 -o qemu.json",
    "sysfence verify diff vmm@v1.10.1.json vmm@resources/seccomp/x86_64-unknown-linux-musl.json --arch x86_64",
    "sysfence compile default.json --arch aarch64 -o default-aarch64.bpf",
    "sysfence explain default-aarch64.bpf --arch aarch64",
  ];
  for (const cmd of chosen) {
    it(cmd, () => {
      const shown = examples.get(cmd);
      expect(shown, "the README still shows this command").toBeDefined();
      expect(shown!.length).toBeGreaterThan(0);
      const r = run(cmd);
      expect(r.code, r.err).toBeLessThanOrEqual(1);
      expect(matches(r.lines, shown!), `printed:\n${r.lines.join("\n")}\n\nREADME:\n${shown!.join("\n")}`).toBe(true);
    });
  }
});
