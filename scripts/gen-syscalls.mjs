#!/usr/bin/env node
// Generates src/syscalls/tables.generated.ts from the per-ABI syscall tables of the vendored test
// corpus (test/corpus/syscalls/libseccomp-<table>.tsv, derived from libseccomp's syscalls.csv;
// origin and licence in test/corpus/PROVENANCE.md).
//
// Why generated and committed, rather than read at run time: the CLI and the API must work
// without the corpus (it is test data, not shipped in the package), and a committed
// output makes every change to the numbers visible in review.
//
// Which tables: exactly the `table` keys that src/syscalls/arches.ts uses. arches.ts is the single
// source of truth for ABIs, so it is compiled with esbuild (already a dev dependency) and
// imported, instead of being scraped with a regular expression.
//
// Usage: npm run gen:syscalls            (writes the file)
//        node scripts/gen-syscalls.mjs --check   (exits 1 if the committed file is stale)
//
// The module also exports `render()` so that a test can check the committed file is current.
import { readFileSync, writeFileSync, existsSync } from "node:fs";
import { join, dirname, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const OUTPUT = join(root, "src", "syscalls", "tables.generated.ts");
/** The vendored syscall tables, inside the repository. */
export const DEFAULT_SYSCALLS_DIR = join(root, "test", "corpus", "syscalls");

/** Syscall names are C identifiers; the generated strings use a space as separator. */
const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The distinct `table` keys of ARCHES, in ARCHES order. */
export async function tableKeys() {
  const esbuild = await import("esbuild");
  const out = await esbuild.build({
    absWorkingDir: root,
    entryPoints: ["src/syscalls/arches.ts"],
    bundle: true,
    write: false,
    format: "esm",
    platform: "node",
    logLevel: "silent",
  });
  const code = out.outputFiles[0].text;
  const mod = await import("data:text/javascript;base64," + Buffer.from(code).toString("base64"));
  const keys = [];
  for (const a of mod.ARCHES) if (!keys.includes(a.table)) keys.push(a.table);
  return keys;
}

/**
 * Parses one TSV. Returns rows sorted by (number, name) and the provenance comment line.
 * Fails loudly on anything unexpected: a silently skipped row would be a missing syscall.
 */
export function parseTsv(text, file) {
  const rows = [];
  const comments = [];
  text.split("\n").forEach((line, i) => {
    if (line.trim() === "") return;
    if (line.startsWith("#")) {
      comments.push(line.slice(1).trim());
      return;
    }
    const cells = line.split("\t");
    if (cells.length < 2) throw new Error(`${file}:${i + 1}: expected "nr<TAB>name[<TAB>kver]"`);
    const [nrText, name] = cells;
    if (!/^\d+$/.test(nrText)) throw new Error(`${file}:${i + 1}: bad number "${nrText}"`);
    if (!NAME_RE.test(name)) throw new Error(`${file}:${i + 1}: bad name "${name}"`);
    rows.push({ nr: Number(nrText), name });
  });
  rows.sort((a, b) => a.nr - b.nr || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { rows, comments };
}

/** Numbers with several names, and names with several numbers. */
export function findAmbiguities(rows) {
  const byNr = new Map();
  const byName = new Map();
  for (const { nr, name } of rows) {
    byNr.set(nr, [...(byNr.get(nr) ?? []), name]);
    byName.set(name, [...(byName.get(name) ?? []), nr]);
  }
  return {
    sharedNumbers: [...byNr].filter(([, names]) => names.length > 1),
    sharedNames: [...byName].filter(([, nrs]) => nrs.length > 1),
  };
}

/**
 * The table as source lines: one line per decade of numbers ("0 read 1 write … 9 mmap"), so a
 * new or renumbered syscall changes one short line of the diff and numbers stay easy to find.
 */
function tableLines(rows) {
  const lines = [];
  let decade = -1;
  let cur = [];
  for (const { nr, name } of rows) {
    const d = Math.floor(nr / 10);
    if (d !== decade && cur.length) {
      lines.push(cur.join(" "));
      cur = [];
    }
    decade = d;
    cur.push(`${nr} ${name}`);
  }
  if (cur.length) lines.push(cur.join(" "));
  return lines;
}

/** The generated module's text. Pure: same corpus in, same bytes out. */
export async function render(dir = DEFAULT_SYSCALLS_DIR) {
  const keys = await tableKeys();
  const tables = [];
  const provenance = new Set();
  for (const key of keys) {
    const file = `libseccomp-${key}.tsv`;
    const path = join(dir, file);
    if (!existsSync(path)) throw new Error(`${path}: missing (table "${key}" is used by src/syscalls/arches.ts)`);
    const { rows, comments } = parseTsv(readFileSync(path, "utf8"), file);
    if (rows.length === 0) throw new Error(`${path}: no rows`);
    for (const c of comments) if (c.startsWith("derived from")) provenance.add(c);
    tables.push({ key, file, rows, ...findAmbiguities(rows) });
  }

  const h = [];
  h.push("// GENERATED FILE - do not edit by hand.");
  h.push("// Generator: scripts/gen-syscalls.mjs. Regenerate with `npm run gen:syscalls`.");
  h.push("//");
  h.push("// Sources: test/corpus/syscalls/libseccomp-<table>.tsv for the tables");
  h.push(`//   ${keys.join(", ")}`);
  for (const p of provenance) h.push(`// (${p})`);
  h.push("//");
  h.push("// Format: one string per table of space-separated \"nr name\" pairs, sorted by (nr, name),");
  h.push("// one source line per decade of numbers. Numbers are TABLE numbers exactly as in the TSVs:");
  h.push("// without x32's 0x40000000 bit and without the MIPS o32/n64/n32 bases (4000/5000/6000);");
  h.push("// src/syscalls/index.ts adds ArchInfo.nrBase. ARM's private calls are absolute (0x0f0000 + n).");
  h.push("//");
  h.push("// Ambiguities (checked at generation time): a number with several names, or a name with");
  h.push("// several numbers. Every pair is kept; lookups resolve them deterministically:");
  h.push("//   number -> name: the alphabetically first name of that number;");
  h.push("//   name -> number: the lowest number carrying that name.");
  const amb = tables.filter((t) => t.sharedNumbers.length || t.sharedNames.length);
  if (amb.length === 0) {
    h.push("// Found in this corpus: none (no table has two names for one number or one name for two");
    h.push("// numbers).");
  } else {
    h.push("// Found in this corpus:");
    for (const t of amb) {
      for (const [nr, names] of t.sharedNumbers) h.push(`//   ${t.key}: ${nr} = ${names.join(", ")}`);
      for (const [name, nrs] of t.sharedNames) h.push(`//   ${t.key}: ${name} = ${nrs.join(", ")}`);
    }
  }
  h.push("");
  h.push("/** Syscall table per `ArchInfo.table` key: space-separated \"nr name\" pairs. */");
  h.push("export const SYSCALL_TABLES: Readonly<Record<string, string>> = {");
  for (const t of tables) {
    h.push(`  // ${t.file}: ${t.rows.length} syscalls, highest number ${t.rows[t.rows.length - 1].nr}`);
    h.push(`  ${/^[a-z_][a-z0-9_]*$/.test(t.key) ? t.key : JSON.stringify(t.key)}: [`);
    for (const line of tableLines(t.rows)) h.push(`    ${JSON.stringify(line)},`);
    h.push(`  ].join(" "),`);
  }
  h.push("};");
  h.push("");
  return h.join("\n");
}

async function main() {
  if (!existsSync(DEFAULT_SYSCALLS_DIR)) {
    console.error(`gen-syscalls: ${DEFAULT_SYSCALLS_DIR.slice(root.length + 1)} not found (the vendored corpus is part of the repository)`);
    process.exit(2);
  }
  const text = await render();
  if (process.argv.includes("--check")) {
    const cur = existsSync(OUTPUT) ? readFileSync(OUTPUT, "utf8") : "";
    if (cur !== text) {
      console.error("gen-syscalls: src/syscalls/tables.generated.ts is stale; run `npm run gen:syscalls`");
      process.exit(1);
    }
    console.log("gen-syscalls: up to date");
    return;
  }
  writeFileSync(OUTPUT, text);
  console.log(`gen-syscalls: wrote ${OUTPUT.slice(root.length + 1)}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  await main();
}
