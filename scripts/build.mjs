#!/usr/bin/env node
// Builds everything a fresh clone needs, from `npm install` (the root package's prepare script):
//   1. the engine: assembly/ -> build/sysfence.wasm (AssemblyScript)
//   2. the host:  src/ -> dist/index.js (API) and dist/cli.js (CLI), ESM bundles (esbuild),
//      with the wasm copied next to them
//   3. type declarations for the API: dist/types (tsc)
// `--if-stale` skips the work when every output is newer than every input (used by `npm test`).
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, copyFileSync, readdirSync, statSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const ifStale = process.argv.includes("--if-stale");

function newest(dir) {
  let t = 0;
  if (!existsSync(dir)) return t;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}
function mtime(p) {
  return existsSync(p) ? statSync(p).mtimeMs : 0;
}

const outputs = ["build/sysfence.wasm", "dist/cli.js", "dist/index.js", "dist/sysfence.wasm", "playground/dist/app.js"].map((p) => join(root, p));
const inputs = Math.max(newest(join(root, "assembly")), newest(join(root, "src")), newest(join(root, "playground", "src")), mtime(join(root, "playground", "index.html")), mtime(join(root, "playground", "style.css")), mtime(join(root, "asconfig.json")));
if (ifStale && outputs.every((o) => mtime(o) > inputs)) process.exit(0);

const bin = (name) => join(root, "node_modules", ".bin", name);
const run = (cmd, args) => execFileSync(cmd, args, { cwd: root, stdio: "inherit" });

// 1. engine
run(bin("asc"), ["assembly/index.ts", "--config", "asconfig.json", "--target", "release"]);

// 2. host bundles. koffi must stay external: it resolves its native part relative to itself.
mkdirSync(join(root, "dist"), { recursive: true });
const esbuild = await import("esbuild");
await esbuild.build({
  absWorkingDir: root,
  entryPoints: { cli: "src/cli/main.ts", index: "src/index.ts" },
  outdir: "dist",
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  splitting: true,
  chunkNames: "chunks/[name]-[hash]",
  external: ["koffi"],
  sourcemap: true,
  logLevel: "warning",
  banner: { js: "import { createRequire as __sfCreateRequire } from 'node:module'; const require = __sfCreateRequire(import.meta.url);" },
});
copyFileSync(join(root, "build/sysfence.wasm"), join(root, "dist/sysfence.wasm"));

// 2a. the browser playground (playground/dist/): the same sources, bundled for the browser.
run(process.execPath, [join(root, "scripts", "build-playground.mjs"), "--quiet"]);

// 2b. native parts (launcher/): each folder with a build.mjs builds itself; a missing C compiler
// is reported there and everything else keeps working.
for (const native of ["launcher"]) {
  const script = join(root, native, "build.mjs");
  if (existsSync(script)) run(process.execPath, [script]);
}

// 3. declarations for the typed API
if (!process.argv.includes("--no-types")) {
  run(bin("tsc"), ["-p", "tsconfig.json", "--emitDeclarationOnly"]);
}
