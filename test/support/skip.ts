// The one way a test is skipped here: vitest's own skip, with the reason attached to the test so the
// closing summary (summary-reporter.ts) counts skips by reason. A test body never returns early to
// "pass" when something is missing.
//
//   describe("needs the kernel", skipWhen(kernelSkipReason()), () => { ... });
//   it("needs strace", skipWhen(straceMissing && "no strace on PATH"), () => { ... });
//   it("depends on a runtime probe", (ctx) => { if (why) ctx.skip(why); ... });  // note = reason
import type { TestOptions } from "vitest";

declare module "vitest" {
  interface TaskMeta {
    /** Why this test (or its suite) was skipped; read by the summary reporter. */
    skipReason?: string;
  }
}

const printed = new Set<string>();

/**
 * Options for `describe`/`it` that skip when `why` is a reason (a non-empty string) and record it.
 * The reason is printed once per test file, as `[skip] reason`.
 */
export function skipWhen(why: string | undefined | false | null): TestOptions {
  if (!why) return {};
  if (!printed.has(why)) {
    printed.add(why);
    console.warn(`[skip] ${why}`);
  }
  return { skip: true, meta: { skipReason: why } };
}
