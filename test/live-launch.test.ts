// Live filters of processes started by the launcher: a stack of two phases read back and
// verified, and `launch --attest` / `launch({ attest: true })`, including what a mismatch does.
import { describe, it, expect } from "vitest";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { launch } from "../src/launch/index.js";
import { readLiveFilters, attestStack, attestOrKill, AttestMismatchError } from "../src/live/index.js";
import { assemble } from "../src/text/asm.js";
import { writeRaw } from "../src/formats/raw.js";
import { hostArch } from "../src/syscalls/arches.js";
import { runCli } from "./support/cli.js";
import { launcherSkipReason, within, pidAlive, waitUntil } from "./fixtures/launch/support.js";
import { liveSkipReason, work } from "./fixtures/live/support.js";

const why = liveSkipReason() ?? launcherSkipReason();
if (why) console.warn(`[skip] live filters of launched processes: ${why}`);

const arch = hostArch().name;
const head = `.arch ${arch}\nld arch\njeq #${hostArch().tokenName}, next, allow\nld nr\n`;
const phase1 = assemble(`${head}jeq #mkdirat, deny\nallow: ret ALLOW\ndeny: ret ERRNO(1)`);
const phase2 = assemble(`${head}jeq #unlinkat, deny\nallow: ret ALLOW\ndeny: ret ERRNO(2)`);
const both = assemble(`${head}jeq #mkdirat, eperm\njeq #unlinkat, enoent\nallow: ret ALLOW\neperm: ret ERRNO(1)\nenoent: ret ERRNO(2)`);

describe.skipIf(why)("launched stacks", () => {
  it("launch({ attest: true }) with two phases: ready after the read-back; the stack verifies", async () => {
    const h = launch({ stack: [phase1], filter: phase2, argv: ["/bin/sleep", "30"], stdio: "ignore", attest: true });
    try {
      const pid = await within(h.ready, 10_000, "ready");
      const p = readLiveFilters(pid);
      expect(p.stacks).toHaveLength(1);
      expect(p.stacks[0].filters.map((f) => f.program.equals(f.index === 0 ? phase1 : phase2))).toEqual([true, true]);
      writeFileSync(join(work, "both.bpf"), writeRaw(both));
      const v = runCli(work, ["verify", "stack", `pid:${pid}`, "--equals", "both.bpf"]);
      expect(v.out).toContain("holds");
      expect(v.code).toBe(0);
      expect(runCli(work, ["verify", "equal", `pid:${pid}`, "both.bpf"]).code).toBe(0);
      // Wrong order, wrong count: a mismatch says where.
      expect(() => attestStack(pid, [phase2, phase1])).toThrow(/filter 1 of 2 of process \d+ is not the verified one/);
      expect(() => attestStack(pid, [phase1, phase1, phase2])).toThrow(/runs 2 filter\(s\); 3 were verified/);
      expect(attestStack(pid, [phase2])).toBe(1); // one older filter below the verified one
      let killed = false;
      expect(() => attestOrKill(pid, [phase1], () => { killed = true; })).toThrow(AttestMismatchError);
      expect(killed).toBe(true);
    } finally {
      h.kill("SIGKILL");
      await within(h.exit, 10_000, "exit");
    }
  });

  it("launch --attest on the command line says so", () => {
    writeFileSync(join(work, "p1.bpf"), writeRaw(phase1));
    writeFileSync(join(work, "p2.bpf"), writeRaw(phase2));
    const r = runCli(work, ["launch", "--attest", "--stack", "p1.bpf", "--filter", "p2.bpf", "--", "/bin/sleep", "1"]);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/^sysfence: attest: process \d+ runs the verified filters, byte-identical and in order$/m);
  });

  it("the mismatch path kills the running program", async () => {
    const h = launch({ filter: phase2, argv: ["/bin/sleep", "30"], stdio: "ignore" });
    const pid = await within(h.ready, 10_000, "ready");
    expect(() => attestOrKill(pid, [phase1], () => h.kill("SIGKILL"))).toThrow(/is not the verified one/);
    await within(h.exit, 10_000, "exit");
    await waitUntil(() => !pidAlive(pid), 5000, "the program to be gone");
  });
});
