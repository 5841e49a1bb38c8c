// The policy compiler for the "compile" bench section: from dist/index.js when the bundle exports
// it, else bundled from src/ by a small esbuild step into bench/.out/ (the engine's wasm is found
// in build/ as for the tests). Programs it returns are converted to dist's Program class.
import { copyFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { benchDir, ensureOutDir, repoRoot } from "../lib.mjs";

const NEEDED = ["compilePolicyText", "compileIR", "evaluatePolicy", "conditionHolds", "resolveArch"];

export async function policyCompiler(api, log) {
  if (NEEDED.every((k) => typeof api[k] === "function")) {
    return { ...pick(api), source: "dist/index.js" };
  }
  const out = ensureOutDir();
  const file = join(out, "compile-policy.mjs");
  log("compile: dist/index.js lacks the policy compiler; bundling it from src/ (esbuild)");
  const esbuild = await import(pathToFileURL(join(repoRoot, "node_modules", "esbuild", "lib", "main.js")).href);
  await esbuild.build({
    absWorkingDir: repoRoot,
    entryPoints: [join(benchDir, "compile", "policy-entry.ts")],
    outfile: file,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    external: ["koffi"],
    logLevel: "warning",
    banner: { js: "import { createRequire as __sfCreateRequire } from 'node:module'; const require = __sfCreateRequire(import.meta.url);" },
  });
  const wasm = join(repoRoot, "build", "sysfence.wasm");
  if (existsSync(wasm)) copyFileSync(wasm, join(out, "sysfence.wasm"));
  const mod = await import(pathToFileURL(file).href + `?t=${Date.now()}`);
  return { ...pick(mod), source: "src/ via esbuild (dist/index.js does not export compilePolicyText)" };
}

function pick(m) {
  return Object.fromEntries(NEEDED.map((k) => [k, m[k]]));
}
