// Locates the vendored test corpus (test/corpus/, listed with origin, licence and SHA-256 in its
// PROVENANCE*.md files). It is part of the repository, so corpus tests never skip: a missing file
// is a failure, reported by test/corpus.test.ts against the recorded digests.
import { join, dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const corpusDir = join(repoRoot, "test", "corpus");

/** Path of a file or folder inside the vendored corpus. */
export function corpusPath(...parts: string[]): string {
  return join(corpusDir, ...parts);
}
