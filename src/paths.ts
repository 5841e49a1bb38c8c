// Where sysfence's own files are (filters/, launcher/), wherever the code runs from: the
// dist/ bundle, a dist/chunks/ file or src/ under the test runner.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

let root: string | undefined;

export function packageRoot(): string {
  if (root) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const pj = join(dir, "package.json");
    if (existsSync(pj)) {
      try {
        if (JSON.parse(readFileSync(pj, "utf8")).name === "sysfence") return (root = dir);
      } catch {
        // not ours; keep looking
      }
    }
    dir = dirname(dir);
  }
  throw new Error("cannot find the sysfence package root");
}

export function bundledFilters(): string {
  return join(packageRoot(), "filters");
}
