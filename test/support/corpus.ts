// Locates the shared corpus (../shared beside the repository, as CI has it). Tests that need it
// call `corpusOrSkip()` so that, without it, they skip with a printed reason instead of failing.
import { existsSync } from "node:fs";
import { join, dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const sharedDir = process.env.SYSFENCE_SHARED ?? join(repoRoot, "..", "shared");
export const corpusDir = join(sharedDir, "corpus");
export const hasCorpus = existsSync(corpusDir);

/** Path inside the corpus, or undefined (after printing why) when the corpus is absent. */
export function corpusPath(...parts: string[]): string | undefined {
  if (!hasCorpus) {
    console.warn(`[skip] shared corpus not found at ${corpusDir}: corpus tests are skipped`);
    return undefined;
  }
  return join(corpusDir, ...parts);
}
