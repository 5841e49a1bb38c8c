// The browsers the playground is tested in, behind one small adapter: Debian's `chromium` and
// `firefox-esr`, both driven by puppeteer-core (Chromium over the DevTools protocol, Firefox over
// WebDriver BiDi) through their executablePath. The npm packages' own browser downloads cannot
// work here (only the npm and Debian registries are reachable); scripts/ci.d/40-chromium.sh and
// 41-firefox.sh install the Debian packages. One library for both, so the test bodies are shared
// and only what really differs between the browsers (how to start them, how to measure the main
// thread's longest task) lives here.
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, ElementHandle, KeyInput, LaunchOptions, Page } from "puppeteer-core";

export type BrowserName = "chromium" | "firefox";

export interface BrowserKind {
  name: BrowserName;
  /** The browser's executable (Debian's, or $SYSFENCE_CHROMIUM / $SYSFENCE_FIREFOX). */
  executable: string;
  /** Why the tests cannot run in this browser here, or undefined when they can. */
  skipReason(): string | undefined;
  launch(): Promise<Browser>;
  /**
   * Whether the driver reports the page's own file:// loads as requests (Chromium's DevTools
   * protocol does; Firefox's WebDriver BiDi reports only network requests).
   */
  reportsFileLoads: boolean;
}

const VIEWPORT = { width: 1400, height: 900 };

function missing(executable: string, pkg: string, script: string): string | undefined {
  return existsSync(executable) ? undefined : `no ${pkg} at ${executable} (Debian package ${pkg}; scripts/ci.d/${script} installs it)`;
}

async function puppeteerLaunch(options: LaunchOptions): Promise<Browser> {
  const { default: puppeteer } = await import("puppeteer-core");
  return puppeteer.launch({ headless: true, defaultViewport: VIEWPORT, protocolTimeout: 180_000, ...options });
}

const chromium: BrowserKind = {
  name: "chromium",
  reportsFileLoads: true,
  executable: process.env.SYSFENCE_CHROMIUM ?? "/usr/bin/chromium",
  skipReason() {
    return missing(this.executable, "chromium", "40-chromium.sh");
  },
  launch() {
    return puppeteerLaunch({
      browser: "chrome",
      executablePath: this.executable,
      // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
  },
};

const firefox: BrowserKind = {
  name: "firefox",
  reportsFileLoads: false,
  executable: process.env.SYSFENCE_FIREFOX ?? "/usr/bin/firefox-esr",
  skipReason() {
    return missing(this.executable, "firefox-esr", "41-firefox.sh");
  },
  launch() {
    // Firefox writes into $HOME at start and wants its own profile directory; CI's HOME may not
    // be writable, and as root a profile under /root would outlive the run. A fresh temporary
    // HOME and profile per launch keeps every run the same.
    const home = mkdtempSync(join(tmpdir(), "sysfence-firefox-"));
    return puppeteerLaunch({
      browser: "firefox",
      executablePath: this.executable,
      userDataDir: join(home, "profile"),
      env: { ...process.env, HOME: home, MOZ_HEADLESS: "1" },
      extraPrefsFirefox: {
        // No network at run time: keep Firefox from trying to reach its services.
        "network.connectivity-service.enabled": false,
        "browser.safebrowsing.update.enabled": false,
        "app.update.enabled": false,
      },
    });
  },
};

export const BROWSERS: BrowserKind[] = [chromium, firefox];

// ---- page helpers shared by the test bodies ---------------------------------------------------

/** Waits until SELECTOR's text matches PATTERN and returns the text. */
export async function waitText(page: Page, selector: string, pattern: RegExp, timeout = 60_000): Promise<string> {
  await page.waitForFunction((sel: string, src: string) => new RegExp(src).test(document.querySelector(sel)?.textContent ?? ""), { timeout }, selector, pattern.source);
  return text(page, selector);
}

/** Waits until SELECTOR's text (trailing space trimmed) is exactly WANT. */
export async function waitExact(page: Page, selector: string, want: string, timeout = 60_000): Promise<void> {
  await page.waitForFunction((sel: string, w: string) => document.querySelector(sel)?.textContent?.trimEnd() === w, { timeout }, selector, want);
}

export async function text(page: Page, selector: string): Promise<string> {
  return page.$eval(selector, (e) => e.textContent ?? "");
}

/**
 * Sets a text field's value and fires `input`, as pasting does (typing a 30 kB policy key by key
 * would test the driver, not the page).
 */
export async function paste(page: Page, selector: string, value: string): Promise<void> {
  await page.$eval(
    selector,
    (e, v) => {
      (e as HTMLTextAreaElement).value = v;
      e.dispatchEvent(new InputEvent("input", { bubbles: true, inputType: "insertFromPaste" }));
    },
    value,
  );
}

/** Puts the file at PATH into a file input, as a user picking it does. */
export async function upload(page: Page, selector: string, path: string): Promise<void> {
  const input = (await page.$(selector)) as ElementHandle<HTMLInputElement> | null;
  if (!input) throw new Error(`no ${selector} on the page`);
  await input.uploadFile(path);
}

export async function activeId(page: Page): Promise<string> {
  return page.evaluate(() => document.activeElement?.id ?? "");
}

/** The focused element's id and whether its focus is drawn (an outline that is not none). */
async function focusShown(page: Page): Promise<{ id: string; outline: string }> {
  return page.evaluate(() => {
    const el = document.activeElement as HTMLElement | null;
    const s = el ? getComputedStyle(el) : undefined;
    return { id: el?.id || el?.tagName.toLowerCase() || "", outline: s && s.outlineStyle !== "none" && s.outlineWidth !== "0px" ? `${s.outlineStyle} ${s.outlineWidth}` : "none" };
  });
}

/**
 * Presses KEY (Tab or Shift+Tab) until the element with id ID has the focus; returns the ids
 * passed on the way. Every element the focus lands on must draw its focus.
 */
export async function tabTo(page: Page, id: string, backwards = false, max = 40): Promise<string[]> {
  const seen: string[] = [];
  for (let i = 0; i < max; i++) {
    if (backwards) await page.keyboard.down("Shift");
    await page.keyboard.press("Tab");
    if (backwards) await page.keyboard.up("Shift");
    const f = await focusShown(page);
    seen.push(f.id);
    if (f.outline === "none") throw new Error(`keyboard focus on #${f.id} is not drawn (after ${seen.join(" → ")})`);
    if (f.id === id) return seen;
  }
  throw new Error(`#${id} not reached by keyboard within ${max} presses: ${seen.join(" → ")}`);
}

export async function press(page: Page, key: KeyInput, times = 1): Promise<void> {
  for (let i = 0; i < times; i++) await page.keyboard.press(key);
}

/** Ctrl+A then KEYS typed one by one: replaces a text field's content from the keyboard. */
export async function retype(page: Page, keys: string): Promise<void> {
  await page.keyboard.down("Control");
  await page.keyboard.press("a");
  await page.keyboard.up("Control");
  await page.keyboard.press("Backspace");
  await page.keyboard.type(keys);
}

/**
 * Starts measuring the main thread's longest task. Two measures: the Long Tasks API where the
 * browser has it (Chromium; Firefox does not implement it), and in every browser a heartbeat,
 * the longest gap between ticks of a 10 ms timer: no tick runs while a task holds the main
 * thread, so the longest gap bounds the longest task from above (it also counts timer slack and
 * the machine's scheduling delays, so it can only overstate).
 */
export async function watchMainThread(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as { longtask?: number; heartbeat: number };
    w.heartbeat = 0;
    if (PerformanceObserver.supportedEntryTypes?.includes("longtask")) {
      w.longtask = 0;
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) w.longtask = Math.max(w.longtask!, e.duration);
      }).observe({ type: "longtask" });
    }
    let last = performance.now();
    setInterval(() => {
      const now = performance.now();
      w.heartbeat = Math.max(w.heartbeat, now - last);
      last = now;
    }, 10);
  });
}

export async function mainThread(page: Page): Promise<{ longtask?: number; heartbeat: number }> {
  return page.evaluate(() => {
    const w = window as unknown as { longtask?: number; heartbeat: number };
    return { longtask: w.longtask, heartbeat: w.heartbeat };
  });
}

/**
 * Records, from the page's own clock (milliseconds since navigation started), when the bundled
 * example's first answer is on screen: the check result, the disassembly and the graph. Runs
 * before the page's scripts, so nothing is missed.
 */
export async function watchFirstAnswer(page: Page): Promise<void> {
  await page.evaluateOnNewDocument(() => {
    const w = window as unknown as { firstAnswer?: number };
    const done = () =>
      /ok:/.test(document.getElementById("check")?.textContent ?? "") &&
      /^; sysfence disassembly/.test(document.getElementById("disasm")?.textContent ?? "") &&
      !!document.querySelector("#programGraph svg");
    const mo = new MutationObserver(() => {
      if (w.firstAnswer === undefined && done()) {
        w.firstAnswer = performance.now();
        mo.disconnect();
      }
    });
    mo.observe(document, { subtree: true, childList: true, characterData: true });
  });
}
