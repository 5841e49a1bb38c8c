#!/usr/bin/env node
// Builds the browser playground (playground/dist/): one static page that runs the same sources
// as the CLI. Two esbuild bundles: the worker (engine, formats, verifier, graph; the engine's
// wasm embedded as bytes) and the page (UI), which carries the worker's code as a string and
// starts it from a Blob URL, so the page opens from file:// as well as from any static host and
// fetches nothing at run time. Node built-ins are replaced by a shim that fails loudly if
// reached (see playground/src/shims/).
import { mkdirSync, copyFileSync, writeFileSync, readFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "playground", "dist");
const esbuild = await import("esbuild");

/** Node built-ins and native modules resolve to the shim. */
const nodeShim = {
  name: "node-shim",
  setup(build) {
    const shim = join(root, "playground/src/shims/node.cjs");
    build.onResolve({ filter: /^(node:.*|fs|path|os|url|zlib|stream|child_process|koffi)$/ }, () => ({ path: shim }));
  },
};

const common = {
  absWorkingDir: root,
  bundle: true,
  platform: "browser",
  format: "iife",
  target: ["chrome110", "firefox115"],
  minify: true,
  legalComments: "none",
  logLevel: "warning",
  plugins: [nodeShim],
  inject: [join(root, "playground/src/shims/globals.ts")],
  define: { "import.meta.url": '"file:///playground/"' },
  loader: { ".wasm": "binary" },
  write: false,
};

const worker = await esbuild.build({ ...common, entryPoints: ["playground/src/worker.ts"] });
const workerCode = worker.outputFiles[0].text;

const page = await esbuild.build({
  ...common,
  entryPoints: ["playground/src/app.ts"],
  define: {
    ...common.define,
    __WORKER_CODE__: JSON.stringify(workerCode),
    __EXAMPLE__: JSON.stringify(readFileSync(join(root, "filters/vmm.seccompiler.json"), "utf8")),
  },
});
mkdirSync(out, { recursive: true });
writeFileSync(join(out, "app.js"), page.outputFiles[0].text);
copyFileSync(join(root, "playground/index.html"), join(out, "index.html"));
copyFileSync(join(root, "playground/style.css"), join(out, "style.css"));
const size = (f) => readFileSync(join(out, f)).length;
if (!process.argv.includes("--quiet")) {
  console.log(`playground: wrote playground/dist (index.html ${size("index.html")} B, app.js ${size("app.js")} B, style.css ${size("style.css")} B)`);
}
