// The playground in a real browser: Debian's Chromium driven by playwright-core, the page opened
// from file:// (no server). Each answer the page gives is compared with the CLI's answer to the
// same question, and the views are written as screenshots to test/.out/playground/.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { Browser, Page } from "playwright-core";
import { repoRoot } from "./support/corpus.js";

const CHROMIUM = process.env.SYSFENCE_CHROMIUM ?? "/usr/bin/chromium";
const PAGE = join(repoRoot, "playground", "dist", "index.html");
const SHOTS = join(repoRoot, "test", ".out", "playground");
const bin = join(repoRoot, "bin", "sysfence.js");
const firecracker = join(repoRoot, "test", "corpus", "filters", "firecracker", "x86_64-unknown-linux-musl.json");

function skipReason(): string | undefined {
  if (!existsSync(CHROMIUM)) return `no Chromium at ${CHROMIUM} (Debian package chromium; scripts/ci.d/40-chromium.sh installs it)`;
  if (!existsSync(PAGE)) return "playground/dist/index.html is not built (npm run build)";
  return undefined;
}
const why = skipReason();
if (why) console.warn(`[skip] playground browser tests: ${why}`);

let browser: Browser;
let dir: string;

/** The CLI's stdout for `args`, run in `dir` so file labels match the page's. */
function cli(args: string[]): string {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: dir, encoding: "utf8", timeout: 120_000 });
  return r.stdout.trimEnd();
}

async function open(url = pathToFileURL(PAGE).href): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.on("pageerror", (e) => console.warn(`[page error] ${e.message}`));
  await page.goto(url);
  await page.waitForSelector("body[data-ready=true]", { timeout: 60_000 });
  return page;
}

async function waitText(page: Page, selector: string, pattern: RegExp): Promise<string> {
  await page.waitForFunction(
    ([sel, src]) => new RegExp(src).test(document.querySelector(sel)?.textContent ?? ""),
    [selector, pattern.source] as const,
    { timeout: 60_000 },
  );
  return (await page.textContent(selector)) ?? "";
}

/** Puts a file into one of the page's file inputs. */
async function setFile(page: Page, input: string, name: string, bytes: Buffer): Promise<void> {
  await page.setInputFiles(input, { name, mimeType: "application/octet-stream", buffer: bytes });
}

describe.skipIf(why !== undefined)("playground (Chromium, file://)", () => {
  beforeAll(async () => {
    const { chromium } = await import("playwright-core");
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
    dir = mkdtempSync(join(tmpdir(), "sysfence-playground-"));
    mkdirSync(SHOTS, { recursive: true });
    writeFileSync(join(dir, "vmm.seccompiler.json"), readFileSync(join(repoRoot, "filters", "vmm.seccompiler.json")));
  });
  afterAll(async () => {
    await browser?.close();
  });

  it("opens on the bundled example with its disassembly, check result and graph", async () => {
    const t0 = Date.now();
    const page = await open();
    const count = await waitText(page, "#count", /instructions/);
    console.log(`[playground] first answer (check result and disassembly) ${Date.now() - t0} ms after navigation`);
    const disasm = cli(["disasm", "vmm.seccompiler.json", "--thread", "vmm", "--arch", "x86_64"]);
    expect(count).toContain(`${disasm.split("\n").filter((l) => /^\d{4}:/.test(l)).length} instructions`);
    expect((await page.textContent("#disasm"))!.trimEnd()).toBe(disasm);
    expect(await page.textContent("#check")).toMatch(/ok: the kernel accepts/);
    await page.waitForSelector("#programGraph svg");
    await page.screenshot({ path: join(SHOTS, "program.png") });
    await page.close();
  });

  it("a pasted Firecracker policy gives the CLI's instruction count and disassembly", async () => {
    const page = await open();
    const text = readFileSync(firecracker, "utf8");
    writeFileSync(join(dir, "vmm.seccompiler.json"), text); // the page keeps the example's name
    await page.fill("#inputA", text);
    await page.waitForFunction(() => (document.querySelector("#threadA") as HTMLSelectElement).options.length === 3, undefined, { timeout: 60_000 });
    for (const thread of ["vmm", "api", "vcpu"]) {
      await page.selectOption("#threadA", thread);
      const disasm = cli(["disasm", "vmm.seccompiler.json", "--thread", thread, "--arch", "x86_64"]);
      const n = disasm.split("\n").filter((l) => /^\d{4}:/.test(l)).length;
      await waitText(page, "#count", new RegExp(`^${n} instructions`));
      await page.waitForFunction((want) => document.querySelector("#disasm")?.textContent?.trimEnd() === want, disasm, { timeout: 60_000 });
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
    await setFile(page, "#fileA", "a.json", Buffer.from(a));
    await setFile(page, "#fileB", "b.json", Buffer.from(b));
    await page.click("#tab-verify");
    await page.selectOption("#relation", "subset");
    await page.click("#verifyForm button");
    const want = cli(["verify", "subset", "vmm@a.json", "vmm@b.json", "--arch", "x86_64"]);
    expect(want).toMatch(/does not hold/);
    await page.waitForFunction((w) => document.querySelector("#verifyOut")?.textContent === w, want, { timeout: 60_000 });
    await page.screenshot({ path: join(SHOTS, "verify.png") });

    // The state is in the fragment: a new page on the same URL shows the same answer.
    await page.waitForFunction(() => location.hash.startsWith("#v1."), undefined, { timeout: 10_000 });
    await page.waitForTimeout(400); // the fragment is written 200 ms after the last change
    const again = await open(page.url());
    await again.waitForFunction((w) => document.querySelector("#verifyOut")?.textContent === w, want, { timeout: 60_000 });
    expect(await again.getAttribute("#tab-verify", "aria-selected")).toBe("true");
    await again.close();

    // Evaluate: the verdict is the CLI's `run`, and the executed path is drawn.
    await page.click("#tab-eval");
    await page.fill("#sys", "ioctl");
    await page.fill("#arg0", "3");
    await page.fill("#arg1", "0x5401");
    await page.click("#evalForm button");
    const verdict = cli(["run", "a.json", "--thread", "vmm", "--arch", "x86_64", "--syscall", "ioctl", "--args", "3,0x5401"]);
    const shown = await waitText(page, "#evalOut", new RegExp(`→ ${verdict.replace(/[()]/g, "\\$&")}`));
    expect(shown).toMatch(/path: 0000 → /);
    expect(await page.innerHTML("#evalGraph")).toContain("#c62828");
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
    await setFile(page, "#fileA", "qemu.json", readFileSync(join(dir, "qemu.json")));
    await waitText(page, "#count", /instructions/);
    await page.evaluate(() => {
      const w = window as unknown as { longest: number };
      w.longest = 0;
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) w.longest = Math.max(w.longest, e.duration);
      }).observe({ type: "longtask" });
    });
    const t0 = Date.now();
    // By path, as a user picks a file: a buffer would be decoded by Playwright's own script on
    // the page's main thread, which is the test's cost, not the page's.
    await page.setInputFiles("#traceFile", join(dir, "boot.strace"));
    const report = await waitText(page, "#replayOut", /^replay: [\s\S]*total: /);
    const seconds = (Date.now() - t0) / 1000;
    const longest = await page.evaluate(() => (window as unknown as { longest: number }).longest);
    console.log(`[playground] ${(trace.length / 1e6).toFixed(1)} MB trace replayed in ${seconds.toFixed(1)} s; longest main-thread task ${longest.toFixed(0)} ms`);
    expect(longest).toBeLessThan(200);
    const want = cli(["replay", "qemu.json", "boot.strace", "--arch", "x86_64"]);
    expect(report.split("\n").at(-1)).toBe(want.split("\n").at(-1));
    await page.screenshot({ path: join(SHOTS, "replay.png") });
    await page.close();
  });

  it("is keyboard-usable: arrow keys move between tabs", async () => {
    const page = await open();
    await page.focus("#tab-program");
    await page.keyboard.press("ArrowRight");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("tab-lint");
    expect(await page.isVisible("#panel-lint")).toBe(true);
    await waitText(page, "#lintOut", /\S/);
    await page.keyboard.press("End");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("tab-replay");
    await page.close();
  });
});
