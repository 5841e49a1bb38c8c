// In-process install through koffi (src/native/install.ts), each scenario in a child process
// because a filter can never be removed.
import { describe, it, expect } from "vitest";
import { skipWhen } from "./support/skip.js";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { repoRoot } from "./support/corpus.js";
import { kernelSkipReason } from "./support/kernel.js";

const why = kernelSkipReason();

function child(scenario: string): any {
  const outText = execFileSync(process.execPath, [join(repoRoot, "test/fixtures/install-child.mjs"), scenario], {
    encoding: "utf8",
    timeout: 30_000,
  });
  return JSON.parse(outText.trim().split("\n").pop()!);
}

describe("installFilter (koffi, real kernel)", skipWhen(why), () => {
  it("installs on every thread with TSYNC and the filter answers", () => {
    const r = child("deny-mkdir");
    expect(r.fatal).toBeUndefined();
    expect(r.code).toBe("ENOTSUP"); // errno 95, as Node names it
    expect(r.modes.length).toBeGreaterThan(1); // Node has several threads
    expect(r.modes.every((m: string) => m === "2")).toBe(true);
    expect(r.state).toMatchObject({ mode: 2, filters: 1, noNewPrivs: true });
  });
  it("treats an empty program as a no-op", () => {
    expect(child("empty").state).toMatchObject({ mode: 0, filters: 0 });
  });
  it("refuses more than 4096 instructions with FilterTooLargeError, before the kernel", () => {
    const r = child("too-large");
    expect(r.error).toMatchObject({ name: "FilterTooLargeError", length: 4097 });
    expect(r.state).toMatchObject({ mode: 0 });
  });
  it("reports the kernel's errno as KernelError", () => {
    expect(child("kernel-einval").error).toMatchObject({ name: "KernelError", errno: 22 });
  });
  it("names the thread when TSYNC fails", () => {
    const r = child("tsync-fail");
    expect(r.error).toMatchObject({ name: "TsyncFailedError" });
    expect(r.error.tid).toBe(r.tid);
  });
});
