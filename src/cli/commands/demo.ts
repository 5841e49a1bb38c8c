// `sysfence demo`: the main job on the bundled filters in filters/, end to end: assemble,
// check against the kernel's rules, disassemble (and prove the round trip), evaluate real
// syscalls one by one and as a stack, and show what the kernel's action cache will skip.
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { assemble } from "../../text/asm.js";
import { disassemble } from "../../text/disasm.js";
import { check } from "../../engine/check.js";
import { evaluateBatch, evaluateStack, cacheScan } from "../../engine/run.js";
import { InputBatch, type SeccompData } from "../../engine/data.js";
import { formatRet } from "../../engine/actions.js";
import { findArch } from "../../syscalls/arches.js";
import { syscallNumber, syscallName, syscallCount } from "../../syscalls/index.js";
import type { Program } from "../../engine/program.js";
import { bundledFilters } from "../../paths.js";
import { compilePolicyText } from "../../policy/index.js";
import { cacheReport } from "../../engine/cache-report.js";
import { subset } from "../../verify/relations.js";
import { lint, lintPolicy } from "../../verify/lint.js";
import { Inconclusive } from "../../verify/symbolic.js";
import { replayTraces } from "../../replay/index.js";
import { refuseBeforeStart } from "../../launch/filters.js";
import { out } from "../common.js";
import { X32_SYSCALL_BIT } from "../../engine/contract.generated.js";

function section(title: string): void {
  out(`\n== ${title}`);
}

export function demoCommand(program: Command): void {
  program
    .command("demo")
    .description("run the main job on the bundled filters (filters/)")
    .action(async () => {
      const dir = bundledFilters();
      const x86_64 = findArch("x86_64")!;
      const x86 = findArch("x86")!;
      const progs = new Map<string, Program>();

      section(`assemble and check the bundled filters (${dir})`);
      for (const name of readdirSync(dir).filter((f) => f.endsWith(".asm")).sort()) {
        const file = join(dir, name);
        const p = assemble(readFileSync(file, "utf8"), { file });
        const errors = check(p);
        progs.set(name, p);
        out(`${name.padEnd(28)} ${p.length} instructions, ${errors.length === 0 ? "accepted by the kernel's rules" : `REJECTED: ${errors[0].reason}`}`);
      }
      const vmm = progs.get("vmm-demo.x86_64.asm")!;
      const older = progs.get("deny-ptrace.x86_64.asm")!;

      section("disassembly of vmm-demo (assembles back to the same bytes)");
      const text = disassemble(vmm, { arch: x86_64 });
      out(text.trimEnd());
      const again = assemble(text);
      out(`round trip: ${again.equals(vmm) ? "identical bytes" : "DIFFERENT BYTES"}`);

      section("evaluate syscalls with the kernel's semantics");
      const nr = (n: string) => syscallNumber(x86_64, n)!;
      const cases: [string, SeccompData][] = [
        ["read(0, buf, 4096)", { nr: nr("read"), arch: x86_64.token, args: [0n, 0x7ffd0000n, 4096n] }],
        ["socket(AF_UNIX, SOCK_STREAM, 0)", { nr: nr("socket"), arch: x86_64.token, args: [1n, 1n, 0n] }],
        ["socket(AF_INET, SOCK_STREAM, 0)", { nr: nr("socket"), arch: x86_64.token, args: [2n, 1n, 0n] }],
        ["socket(0x1_00000001, …): int arg, garbage high word", { nr: nr("socket"), arch: x86_64.token, args: [0x100000001n, 1n, 0n] }],
        ["openat(AT_FDCWD, path, O_RDONLY)", { nr: nr("openat"), arch: x86_64.token, args: [0xffffff9cn, 0n, 0n] }],
        ["execve(path, argv, envp)", { nr: nr("execve"), arch: x86_64.token }],
        ["x32 read (nr 0x40000000)", { nr: X32_SYSCALL_BIT, arch: x86_64.token }],
        ["i386 read via int 0x80", { nr: syscallNumber(x86, "read")!, arch: x86.token }],
        ["ptrace(PTRACE_ATTACH, …)", { nr: nr("ptrace"), arch: x86_64.token, args: [16n] }],
      ];
      const batch = InputBatch.of(cases.map((c) => c[1]), "le");
      const single = evaluateBatch(vmm, batch, { counts: true });
      const stack = evaluateStack([older, vmm], batch);
      out(`${"syscall".padEnd(52)} ${"vmm-demo".padEnd(18)} ${"insns".padEnd(6)} stack: deny-ptrace, then vmm-demo`);
      cases.forEach(([label], i) => {
        out(`${label.padEnd(52)} ${formatRet(single.rets[i]).padEnd(18)} ${String(single.counts![i]).padEnd(6)} ${formatRet(stack[i])}`);
      });

      section("compile the bundled policy filters/vmm.seccompiler.json (Firecracker's JSON dialect)");
      const policyFile = join(dir, "vmm.seccompiler.json");
      const policyText = readFileSync(policyFile, "utf8");
      for (const arch of [x86_64, findArch("aarch64")!, findArch("s390x")!]) {
        const t0 = process.hrtime.bigint();
        const r = compilePolicyText(policyText, policyFile, { arch });
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        const parts = r.programs.map((p) => {
          const ok = check(p.program).length === 0 ? "accepted" : "REJECTED";
          const cache = cacheReport(p.program, arch)[0];
          return `${p.name} ${p.program.length} insns (${ok}, ${cache.cached.length} syscalls cached)`;
        });
        out(`${arch.name.padEnd(8)} ${parts.join(", ")}  [${ms.toFixed(1)} ms]`);
      }
      const fc = compilePolicyText(policyText, policyFile, { arch: x86_64, thread: "vmm" }).programs[0].program;
      const ioctl = (req: bigint): SeccompData => ({ nr: nr("ioctl"), arch: x86_64.token, args: [9n, req] });
      const pcases: [string, SeccompData][] = [
        ["ioctl(fd, KVM_RUN)", ioctl(0xae80n)],
        ["ioctl(fd, KVM_RUN) with garbage in the high word (musl)", ioctl(0xdeadbeef_0000ae80n)],
        ["ioctl(fd, KVM_CREATE_VM)", ioctl(0xae01n)],
        ["mmap(…, PROT_READ|PROT_WRITE, …)", { nr: nr("mmap"), arch: x86_64.token, args: [0n, 4096n, 3n] }],
        ["mmap(…, PROT_READ|PROT_EXEC, …)", { nr: nr("mmap"), arch: x86_64.token, args: [0n, 4096n, 5n] }],
      ];
      const pr = evaluateBatch(fc, InputBatch.of(pcases.map((c) => c[1]), "le"), { counts: true });
      pcases.forEach(([label], i) => out(`${label.padEnd(58)} ${formatRet(pr.rets[i]).padEnd(10)} ${pr.counts![i]} insns`));

      section("vmm-demo: what the kernel's action cache proves always-allowed (no filter run at all)");
      const cached = cacheScan(vmm, x86_64.token, syscallCount(x86_64));
      const names: string[] = [];
      cached.forEach((c, n) => c && names.push(syscallName(x86_64, n) ?? String(n)));
      out(`x86_64: ${names.length} syscalls cached: ${names.join(" ")}`);
      out("socket is not cached: its path loads an argument, so the filter runs on every call.");
      section("verify: is the api thread's policy inside the vmm thread's? (decided exactly)");
      const threads = compilePolicyText(policyText, policyFile, { arch: x86_64 });
      const api = threads.programs.find((p) => p.name === "api")!;
      const vmmT = threads.programs.find((p) => p.name === "vmm")!;
      const v = subset(api.program, vmmT.program);
      if (v instanceof Inconclusive) out(`inconclusive: ${v.reason}`);
      else if (v.holds) out("api ⊆ vmm: holds");
      else {
        const cx = v.counterexample;
        out(`api ⊆ vmm: does not hold; counterexample ${cx.arch?.name} ${cx.syscall} (nr ${cx.data.nr}): api ${formatRet(cx.results[0])}, vmm ${formatRet(cx.results[1])}`);
      }
      const findings = lint(vmmT.program);
      const pf = lintPolicy(vmmT.ir);
      const all = findings instanceof Inconclusive ? [] : [...findings, ...pf];
      out(`lint vmm: ${all.length === 0 ? "clean" : all.map((f) => `${f.severity} [${f.id}]`).join(", ")}`);

      section("replay a real QEMU boot (strace -f, gzip) against two filters");
      const trace = join(dir, "qemu-microvm-boot.strace.gz");
      const qemuFile = join(dir, "qemu-microvm.seccompiler.json");
      const qemu = compilePolicyText(readFileSync(qemuFile, "utf8"), qemuFile, { arch: x86_64 }).programs[0];
      for (const [label, prog] of [[`qemu-microvm policy (${qemu.name})`, qemu.program], ["vmm thread of vmm.seccompiler.json", vmmT.program]] as const) {
        const r = await replayTraces([prog], [trace], { arch: x86_64 });
        const t = r.totals;
        const denied = r.syscalls.filter((s) => s.denied > 0).map((s) => s.name);
        out(`${label}: ${t.events} calls, ${t.allowed} allowed, ${t.denied} denied, ${t.depends} depend on arguments not in the trace` +
          (denied.length ? `; denied: ${denied.slice(0, 8).join(" ")}${denied.length > 8 ? " …" : ""}` : ""));
      }

      section("launch pre-flight: would the final execve survive the filter?");
      try {
        refuseBeforeStart([{ label: "vmm", program: vmmT.program }], { arch: x86_64 });
        out("vmm: the launcher would start it");
      } catch (e) {
        out(`vmm: refused before anything starts: ${(e as Error).message}`);
      }
      try {
        refuseBeforeStart([{ label: "qemu-microvm", program: qemu.program }], { arch: x86_64 });
        out("qemu-microvm: passes the checks (`sysfence launch --policy filters/qemu-microvm.seccompiler.json -- qemu-system-x86_64 …`)");
      } catch (e) {
        out(`qemu-microvm: refused: ${(e as Error).message}`);
      }
      out("\nNext: `sysfence compile`, `verify`, `replay`, `learn`, `launch` on your own filters (see README).");
    });
}
