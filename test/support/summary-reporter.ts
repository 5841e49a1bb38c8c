// Prints plain closing lines after vitest's own summary, so CI logs (and anything reading them) see
// the totals without colour codes:
//
//   tests: N passed, N failed, N skipped
//   skipped 12: no C compiler (`cc --version` failed) to build test/native/oracle.c
//
// A skip's reason is, in order: the note of a dynamic `ctx.skip(reason)`, the `skipReason` that
// `skipWhen(reason)` (test/support/skip.ts) attaches, or else the one `[skip] ...` line the test
// file printed. A skip with none of these is listed as "no reason recorded" so it stands out.
import type { Reporter, TestModule, TestCase } from "vitest/node";
import type {} from "./skip.js"; // the TaskMeta.skipReason declaration

/** Reason shown for a skip that gave none. */
export const NO_REASON = "no reason recorded (a bare .skip/.skipIf: use skipWhen or ctx.skip with a reason)";

export default class SummaryReporter implements Reporter {
  /** `[skip] ...` lines printed by each test file (module id -> reasons), for the fallback. */
  private printed = new Map<string, Set<string>>();

  onUserConsoleLog(log: { content: string; taskId?: string }): void {
    if (!log.taskId) return;
    for (const line of log.content.split("\n")) {
      const m = /^\[skip\] (.+)$/.exec(line.trim());
      if (!m) continue;
      const key = log.taskId;
      if (!this.printed.has(key)) this.printed.set(key, new Set());
      this.printed.get(key)!.add(m[1]);
    }
  }

  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    const byReason = new Map<string, number>();
    for (const m of modules) {
      const fileReasons = this.fileReasons(m);
      for (const t of m.children.allTests()) {
        const s = t.result().state;
        if (s === "passed") passed++;
        else if (s === "failed") failed++;
        else {
          skipped++;
          const why = reasonOf(t) ?? (fileReasons.size === 1 ? [...fileReasons][0] : undefined) ?? NO_REASON;
          byReason.set(why, (byReason.get(why) ?? 0) + 1);
        }
      }
      // A file that failed to load has no tests but is a failure.
      if (m.state() === "failed" && [...m.children.allTests()].length === 0) failed++;
    }
    const lines = [`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`];
    for (const [why, n] of [...byReason].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))) {
      lines.push(`skipped ${n}: ${why}`);
    }
    process.stdout.write(`\n${lines.join("\n")}\n`);
  }

  /** The `[skip]` reasons printed anywhere in one test file (at collection or in a test). */
  private fileReasons(m: TestModule): Set<string> {
    const ids = new Set<string>([m.id]);
    for (const t of m.children.allTests()) ids.add(t.id);
    for (const s of m.children.allSuites()) ids.add(s.id);
    const out = new Set<string>();
    for (const id of ids) for (const r of this.printed.get(id) ?? []) out.add(r);
    return out;
  }
}

/** The reason a skipped test carries itself: its dynamic skip note or its recorded skipReason. */
function reasonOf(t: TestCase): string | undefined {
  const r = t.result();
  const note = r.state === "skipped" ? r.note : undefined;
  return note || t.meta().skipReason || undefined;
}
