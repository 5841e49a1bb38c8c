// The playground in real browsers: Debian's Chromium and Firefox ESR, both driven by
// puppeteer-core (test/support/browsers.ts), the page opened from file:// (no server). The same
// test bodies run in each browser. Each answer the page gives is compared with the CLI's answer
// to the same question; the views are written as screenshots to test/.out/playground/BROWSER/
// (git-ignored), and the measured numbers (page weight, time to first answer, the main thread's
// longest task during a 10 MB replay) are printed as `[playground BROWSER] ...` lines.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { gunzipSync, gzipSync } from "node:zlib";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import type { Browser, Page } from "puppeteer-core";
import { repoRoot } from "./support/corpus.js";
import { skipWhen } from "./support/skip.js";
import {
  BROWSERS,
  activeId,
  mainThread,
  paste,
  press,
  retype,
  tabTo,
  text,
  upload,
  waitExact,
  waitText,
  watchFirstAnswer,
  watchMainThread,
} from "./support/browsers.js";

const PAGE = join(repoRoot, "playground", "dist", "index.html");
const bin = join(repoRoot, "bin", "sysfence.js");
const firecracker = join(repoRoot, "test", "corpus", "filters", "firecracker", "x86_64-unknown-linux-musl.json");
const pageMissing = existsSync(PAGE) ? undefined : "playground/dist/index.html is not built (npm run build)";

/** The CLI's stdout for `args`, run in `cwd` so file labels match the page's. */
function cli(cwd: string, args: string[]): string {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd, encoding: "utf8", timeout: 120_000 });
  return r.stdout.trimEnd();
}

/** Instruction lines of a disassembly. */
const instructions = (disasm: string) => disasm.split("\n").filter((l) => /^\d{4}:/.test(l)).length;

/** The files index.html loads (its src= and href= references), in page order. */
function pageFiles(): string[] {
  const html = readFileSync(PAGE, "utf8");
  const refs = [...html.matchAll(/\b(?:src|href)="([^"#:]+)"/g)].map((m) => m[1]);
  return [PAGE, ...refs.map((r) => join(dirname(PAGE), r))];
}

describe("playground page weight", skipWhen(pageMissing), () => {
  it("loads index.html, style.css and app.js, nothing else, and weighs what it weighs", () => {
    const files = pageFiles();
    expect(files.map((f) => f.slice(dirname(PAGE).length + 1))).toEqual(["index.html", "style.css", "app.js"]);
    const sizes = files.map((f) => {
      const b = readFileSync(f);
      return { file: f.slice(dirname(PAGE).length + 1), bytes: b.length, gzip: gzipSync(b, { level: 9 }).length };
    });
    const total = sizes.reduce((a, s) => ({ bytes: a.bytes + s.bytes, gzip: a.gzip + s.gzip }), { bytes: 0, gzip: 0 });
    console.log(`[playground] page weight: ${sizes.map((s) => `${s.file} ${s.bytes} B (gzip -9 ${s.gzip} B)`).join(", ")}; total ${total.bytes} B, gzip -9 ${total.gzip} B`);
    // The engine, the syscall tables and Graphviz travel inside app.js: it is most of the page.
    expect(sizes[2].bytes).toBeGreaterThan(0.9 * total.bytes);
  });
});

for (const kind of BROWSERS) {
  const why = pageMissing ?? kind.skipReason();
  const tag = `[playground ${kind.name}]`;
  const SHOTS = join(repoRoot, "test", ".out", "playground", kind.name);

  describe(`playground in ${kind.name} (file://)`, skipWhen(why), () => {
    let browser: Browser;
    let dir: string;
    const run = (args: string[]) => cli(dir, args);

    async function open(url = pathToFileURL(PAGE).href, before?: (p: Page) => Promise<void>): Promise<Page> {
      const page = await browser.newPage();
      page.on("pageerror", (e) => console.warn(`${tag} page error: ${(e as Error).message}`));
      await before?.(page);
      await page.goto(url);
      await page.waitForSelector("body[data-ready=true]", { timeout: 60_000 });
      return page;
    }

    beforeAll(async () => {
      browser = await kind.launch();
      console.log(`${tag} ${await browser.version()}`);
      dir = mkdtempSync(join(tmpdir(), `sysfence-playground-${kind.name}-`));
      mkdirSync(SHOTS, { recursive: true });
      writeFileSync(join(dir, "vmm.seccompiler.json"), readFileSync(join(repoRoot, "filters", "vmm.seccompiler.json")));
    });
    afterAll(async () => {
      await browser?.close();
    });

    it("opens on the bundled example with its disassembly, check result and graph, loading only the page's files", async () => {
      const requested: string[] = [];
      const page = await open(undefined, async (p) => {
        p.on("request", (r) => requested.push(r.url()));
        await watchFirstAnswer(p);
      });
      const count = await waitText(page, "#count", /instructions/);
      await page.waitForSelector("#programGraph svg", { timeout: 60_000 });
      await page.waitForFunction(() => (window as unknown as { firstAnswer?: number }).firstAnswer !== undefined, { timeout: 60_000 });
      const first = await page.evaluate(() => (window as unknown as { firstAnswer: number }).firstAnswer);
      console.log(`${tag} first answer (check, disassembly and graph of the bundled example) ${first.toFixed(0)} ms after navigation start (file://)`);
      const disasm = run(["disasm", "vmm.seccompiler.json", "--thread", "vmm", "--arch", "x86_64"]);
      expect(count).toContain(`${instructions(disasm)} instructions`);
      expect((await text(page, "#disasm")).trimEnd()).toBe(disasm);
      expect(await text(page, "#check")).toMatch(/ok: the kernel accepts/);
      // Nothing but the page's own files (and the worker's blob: URL) is ever asked for.
      const own = pageFiles().map((f) => pathToFileURL(f).href);
      const foreign = requested.filter((u) => !own.includes(u) && !u.startsWith("blob:") && !u.startsWith("data:"));
      expect(foreign).toEqual([]);
      if (kind.reportsFileLoads) expect(requested.filter((u) => u.startsWith("file:"))).toEqual(own);
      await page.screenshot({ path: join(SHOTS, "program.png") });
      await page.close();
    });

    it("a pasted Firecracker policy gives the CLI's instruction count and disassembly", async () => {
      const page = await open();
      const policy = readFileSync(firecracker, "utf8");
      writeFileSync(join(dir, "vmm.seccompiler.json"), policy); // the page keeps the example's name
      await paste(page, "#inputA", policy);
      await page.waitForFunction(() => (document.querySelector("#threadA") as HTMLSelectElement).options.length === 3, { timeout: 60_000 });
      for (const thread of ["vmm", "api", "vcpu"]) {
        await page.select("#threadA", thread);
        const disasm = run(["disasm", "vmm.seccompiler.json", "--thread", thread, "--arch", "x86_64"]);
        await waitText(page, "#count", new RegExp(`^${instructions(disasm)} instructions`));
        await waitExact(page, "#disasm", disasm);
      }
      writeFileSync(join(dir, "vmm.seccompiler.json"), readFileSync(join(repoRoot, "filters", "vmm.seccompiler.json")));
      await page.close();
    });

    it("verify gives the CLI's counterexample, evaluate highlights the path, and a link reproduces the view", async () => {
      const a = readFileSync(join(repoRoot, "filters", "vmm.seccompiler.json"), "utf8");
      const b = a.replace(/ *\{ "syscall": "ioctl", "comment": "TCGETS",\n[^\n]*\n/, "");
      expect(b).not.toBe(a); // the edit removed the TCGETS ioctl rule
      writeFileSync(join(dir, "a.json"), a);
      writeFileSync(join(dir, "b.json"), b);
      const page = await open();
      await upload(page, "#fileA", join(dir, "a.json"));
      await upload(page, "#fileB", join(dir, "b.json"));
      await page.waitForFunction(() => (document.querySelector("#threadB") as HTMLSelectElement).options.length > 0, { timeout: 60_000 });
      await page.click("#tab-verify");
      await page.select("#relation", "subset");
      await page.click("#verifyForm button");
      const want = run(["verify", "subset", "vmm@a.json", "vmm@b.json", "--arch", "x86_64"]);
      expect(want).toMatch(/does not hold/);
      await waitExact(page, "#verifyOut", want);
      await page.screenshot({ path: join(SHOTS, "verify.png") });

      // The state is in the fragment: a new page on the same URL shows the same answer.
      await page.waitForFunction(() => location.hash.startsWith("#v1."), { timeout: 10_000 });
      await new Promise((r) => setTimeout(r, 400)); // the fragment is written 200 ms after the last change
      const again = await open(page.url());
      await waitExact(again, "#verifyOut", want);
      expect(await again.$eval("#tab-verify", (e) => e.getAttribute("aria-selected"))).toBe("true");
      await again.close();

      // Evaluate: the verdict is the CLI's `run`, and the executed path is drawn.
      await page.click("#tab-eval");
      await paste(page, "#sys", "ioctl");
      await paste(page, "#arg0", "3");
      await paste(page, "#arg1", "0x5401");
      await page.click("#evalForm button");
      const verdict = run(["run", "a.json", "--thread", "vmm", "--arch", "x86_64", "--syscall", "ioctl", "--args", "3,0x5401"]);
      const shown = await waitText(page, "#evalOut", new RegExp(`→ ${verdict.replace(/[()]/g, "\\$&")}`));
      expect(shown).toMatch(/path: 0000 → /);
      expect(await page.$eval("#evalGraph", (e) => e.innerHTML)).toContain("#c62828");
      await page.screenshot({ path: join(SHOTS, "evaluate.png") });
      await page.close();
    });

    it("a 10 MB trace replays off the main thread (longest main-thread task under 200 ms), as the CLI does", async () => {
      const boot = gunzipSync(readFileSync(join(repoRoot, "filters", "qemu-microvm-boot.strace.gz")));
      const copies = Math.ceil((10 << 20) / boot.length);
      const trace = Buffer.concat(Array.from({ length: copies }, () => boot));
      writeFileSync(join(dir, "boot.strace"), trace);
      writeFileSync(join(dir, "qemu.json"), readFileSync(join(repoRoot, "filters", "qemu-microvm.seccompiler.json")));
      const page = await open();
      await upload(page, "#fileA", join(dir, "qemu.json"));
      await waitText(page, "#count", /^\d+ instructions/);
      await page.waitForFunction(() => document.querySelector("#status")?.textContent === "", { timeout: 60_000 });
      await watchMainThread(page);
      const t0 = Date.now();
      // By path, as a user picks a file: the driver hands the browser the path, and the page
      // reads the file itself.
      await upload(page, "#traceFile", join(dir, "boot.strace"));
      const report = await waitText(page, "#replayOut", /^replay: [\s\S]*total: /, 120_000);
      const seconds = (Date.now() - t0) / 1000;
      const m = await mainThread(page);
      const longtask = m.longtask === undefined ? "no Long Tasks API" : `longest task ${m.longtask.toFixed(0)} ms`;
      console.log(`${tag} ${(trace.length / 1e6).toFixed(1)} MB trace replayed in ${seconds.toFixed(1)} s; main thread: ${longtask}, longest gap between 10 ms ticks ${m.heartbeat.toFixed(0)} ms`);
      // The Long Tasks API where there is one; else the heartbeat, which can only overstate.
      if (m.longtask !== undefined) expect(m.longtask).toBeLessThan(200);
      else expect(m.heartbeat).toBeLessThan(200);
      const want = run(["replay", "qemu.json", "boot.strace", "--arch", "x86_64"]);
      expect(report.split("\n").at(-1)).toBe(want.split("\n").at(-1));
      await page.screenshot({ path: join(SHOTS, "replay.png") });
      await page.close();
    });

    it("Explain shows the CLI's decompiled policy, and Graph draws it as explain --format svg does", async () => {
      const page = await open();
      await page.click("#tab-explain");
      const want = run(["explain", "vmm.seccompiler.json", "--thread", "vmm", "--arch", "x86_64"]);
      expect(want).toMatch(/^; vmm\.seccompiler\.json\[vmm\]/);
      await waitExact(page, "#explainOut", want);
      await page.screenshot({ path: join(SHOTS, "explain.png") });
      await page.click("#tab-graph");
      await page.click("#policyView");
      const svg = run(["explain", "vmm.seccompiler.json", "--thread", "vmm", "--arch", "x86_64", "--format", "svg"]);
      // Every label of the CLI's picture is in the page's picture (the browser may re-serialise the markup).
      const labels = [...svg.matchAll(/<text[^>]*>([^<]+)<\/text>/g)].map((m) => m[1].replace(/&#45;/g, "-").replace(/&gt;/g, ">").replace(/&lt;/g, "<").replace(/&amp;/g, "&"));
      expect(labels.length).toBeGreaterThan(5);
      await page.waitForFunction(() => !!document.querySelector("#graphOut svg text"), { timeout: 60_000 });
      await page.waitForFunction((n: number) => document.querySelectorAll("#graphOut svg text").length === n, { timeout: 60_000 }, labels.length);
      const shown = await page.$$eval("#graphOut svg text", (ts) => ts.map((t) => t.textContent ?? ""));
      expect(shown).toEqual(labels);
      await page.screenshot({ path: join(SHOTS, "graph-policy.png") });
      await page.close();
    });

    it("arrow keys, Home and End move between tabs", async () => {
      const page = await open();
      await page.focus("#tab-program");
      await press(page, "ArrowRight");
      expect(await activeId(page)).toBe("tab-lint");
      expect(await page.$eval("#panel-lint", (e) => (e as HTMLElement).hidden)).toBe(false);
      await waitText(page, "#lintOut", /\S/);
      await press(page, "End");
      expect(await activeId(page)).toBe("tab-replay");
      await press(page, "Home");
      expect(await activeId(page)).toBe("tab-program");
      await page.close();
    });

    it("every control has an accessible name", async () => {
      const page = await open();
      const unnamed = await page.evaluate(() =>
        [...document.querySelectorAll<HTMLElement>("input, select, textarea, button, summary, progress, [tabindex]")]
          .filter((e) => {
            const labels = (e as HTMLInputElement).labels;
            const own = e.tagName === "BUTTON" || e.tagName === "SUMMARY" ? e.textContent?.trim() : "";
            return !(labels?.length || e.getAttribute("aria-label") || e.getAttribute("aria-labelledby") || own);
          })
          .map((e) => e.id || e.outerHTML.slice(0, 60)),
      );
      expect(unnamed).toEqual([]);
      await page.close();
    });

    it("is keyboard-usable: a policy typed, compared and evaluated with Tab, arrows, Enter and typing only", async () => {
      const kb = join(dir, "keyboard");
      mkdirSync(kb, { recursive: true });
      const a = `{"kb":{"default_action":"trap","filter_action":"allow","filter":[{"syscall":"read"},{"syscall":"write"},{"syscall":"close"}]}}`;
      const b = `{"kb":{"default_action":"trap","filter_action":"allow","filter":[{"syscall":"read"},{"syscall":"close"}]}}`;
      writeFileSync(join(kb, "vmm.seccompiler.json"), a); // typed into A, which keeps the example's name
      writeFileSync(join(kb, "b.json"), b); // the name a typed B gets
      const page = await open();

      // Into A from the top of the page, replace the example by typing.
      const toA = await tabTo(page, "inputA");
      expect(toA).toEqual(["inputA"]); // the first stop on the page
      await retype(page, a);
      const disasm = cli(kb, ["disasm", "vmm.seccompiler.json", "--thread", "kb", "--arch", "x86_64"]);
      await waitText(page, "#count", new RegExp(`^${instructions(disasm)} instructions`));
      await waitExact(page, "#disasm", disasm);

      // Open B (Enter on its summary) and type the second policy.
      await tabTo(page, "bBox-summary");
      await press(page, "Enter");
      expect(await page.$eval("#bBox", (e) => (e as HTMLDetailsElement).open)).toBe(true);
      await tabTo(page, "inputB");
      await page.keyboard.type(b);

      // To the tabs, then Verify with the arrow keys, subset picked from the keyboard.
      const toTabs = await tabTo(page, "tab-program");
      expect(toTabs).toContain("copyLink");
      await press(page, "ArrowLeft", 2);
      expect(await activeId(page)).toBe("tab-verify");
      expect(await page.$eval("#panel-verify", (e) => (e as HTMLElement).hidden)).toBe(false);
      await tabTo(page, "relation");
      await press(page, "ArrowDown");
      expect(await page.$eval("#relation", (e) => (e as HTMLSelectElement).value)).toBe("subset");
      await tabTo(page, "verifyButton");
      await press(page, "Enter");
      const want = cli(kb, ["verify", "subset", "kb@vmm.seccompiler.json", "kb@b.json", "--arch", "x86_64"]);
      expect(want).toMatch(/does not hold/);
      await waitExact(page, "#verifyOut", want);
      // The answer can be reached and scrolled from the keyboard too.
      await tabTo(page, "verifyOut");

      // Back to the tabs, Evaluate, type a syscall and Enter.
      await tabTo(page, "tab-verify", true);
      await press(page, "ArrowLeft");
      expect(await activeId(page)).toBe("tab-eval");
      await tabTo(page, "sys");
      for (const [sys, verdict] of [["write", "ALLOW"], ["openat", "TRAP"]]) {
        await retype(page, sys);
        await press(page, "Enter");
        const want = cli(kb, ["run", "vmm.seccompiler.json", "--thread", "kb", "--arch", "x86_64", "--syscall", sys, "--args", "3,0xae80,0,0,0,0"]);
        expect(want).toContain(verdict);
        await waitText(page, "#evalOut", new RegExp(`^${sys}\\(3, 0xae80, 0, 0, 0, 0\\) → ${want.replace(/[()]/g, "\\$&")}\\n`));
      }
      await page.screenshot({ path: join(SHOTS, "keyboard.png") });
      await page.close();
    });
  });
}
