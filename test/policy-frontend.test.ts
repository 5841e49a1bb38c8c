import { describe, it, expect } from "vitest";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadPolicy, detectDialect } from "../src/policy/frontend.js";
import { parseJson } from "../src/policy/json.js";
import { evaluatePolicy } from "../src/policy/reference.js";
import { Action, formatRet } from "../src/engine/actions.js";
import { UnknownSyscallError } from "../src/errors.js";
import { resolveArch, syscallNumber } from "../src/syscalls/index.js";
import { corpusPath } from "./support/corpus.js";
import { errorOf } from "./support/errors.js";

const fixture = (name: string): string =>
  readFileSync(fileURLToPath(new URL(`./fixtures/policies/${name}`, import.meta.url)), "utf8");


describe("loadPolicy: dialect detection by content", () => {
  it("seccompiler files give one policy per thread", () => {
    const r = loadPolicy(fixture("seccompiler-example.json"), "fc.json", { arch: "x86_64" });
    expect(r.dialect).toBe("seccompiler");
    expect([...r.policies.keys()]).toEqual(["vmm", "api", "vcpu"]);
    expect(r.meta).toBeUndefined();
    // rust-vmm's spelling is recognised too.
    expect(loadPolicy(fixture("seccompiler-mixed.json"), "m.json", { arch: "x86_64" }).dialect).toBe("seccompiler");
  });

  it("an OCI profile gives one policy named after the file", () => {
    const r = loadPolicy(fixture("oci-small.json"), "some/dir/oci-small.json", { arch: "x86_64", kernel: "6.1" });
    expect(r.dialect).toBe("oci");
    expect([...r.policies.keys()]).toEqual(["oci-small"]);
    expect(r.meta?.listenerPath).toBe("/run/agent.sock");
    const stdin = loadPolicy(fixture("oci-small.json"), "<stdin>", { arch: "x86_64", kernel: "6.1" });
    expect([...stdin.policies.keys()]).toEqual(["<stdin>"]);
  });

  it("a runtime-spec config.json: the profile at /linux/seccomp, with its pointers", () => {
    const r = loadPolicy(fixture("runtime-config.json"), "config.json", { arch: "aarch64" });
    expect(r.dialect).toBe("oci");
    const ir = r.policies.get("config")!;
    expect(ir.source?.pointer).toBe("/linux/seccomp");
    expect(ir.arches[0].defaultAction).toBe(Action.KILL_PROCESS);
    expect(ir.arches[0].syscalls[0].rules[0].source?.pointer).toBe("/linux/seccomp/syscalls/0");
    const arch = resolveArch("aarch64");
    expect(formatRet(evaluatePolicy(ir, { arch: arch.token, nr: syscallNumber(arch, "write")!, args: [] }))).toBe("ALLOW");
  });

  it("caps and kernel reach the OCI frontend", () => {
    const text = JSON.stringify({
      defaultAction: "SCMP_ACT_ERRNO",
      syscalls: [{ names: ["mount"], action: "SCMP_ACT_ALLOW", includes: { caps: ["CAP_SYS_ADMIN"], minKernel: "5.0" } }],
    });
    const get = (caps: string[], kernel: string) =>
      loadPolicy(text, "p.json", { arch: "x86_64", caps, kernel }).policies.get("p")!.arches[0].syscalls.length;
    expect(get(["SYS_ADMIN"], "5.0")).toBe(1);
    expect(get(["SYS_ADMIN"], "4.19")).toBe(0);
    expect(get([], "6.0")).toBe(0);
  });

  it("detectDialect returns the object to compile", () => {
    expect(detectDialect(parseJson(`{"defaultAction": "SCMP_ACT_ALLOW"}`, "x")).dialect).toBe("oci");
    expect(detectDialect(parseJson(`{"a": {"filter": []}, "b": 1}`, "x")).dialect).toBe("seccompiler");
    expect(detectDialect(parseJson(`{"a": {"mismatch_action": "trap"}}`, "x")).dialect).toBe("seccompiler");
    // A thread named "defaultAction" is still a thread.
    expect(detectDialect(parseJson(`{"defaultAction": {"filter": []}}`, "x")).dialect).toBe("seccompiler");
    // A profile that forgot defaultAction is told so.
    const e = errorOf(() => loadPolicy(`{"syscalls": []}`, "p.json", { arch: "x86_64" }));
    expect(e.message).toBe(`the profile is missing the required field "defaultAction"`);
  });

  it("anything else: an error naming what was expected and what was found", () => {
    let e = errorOf(() => loadPolicy(`{"foo": 1, "bar": {"baz": 2}}`, "odd.json", { arch: "x86_64" }));
    expect(e.message).toMatch(/expected a seccompiler filter file .* or an OCI \/ Docker \/ Podman seccomp profile .*; got an object with the keys "foo", "bar"/);
    expect(e.where).toBe("odd.json:1 (root)");
    e = errorOf(() => loadPolicy(`{}`, "empty.json", { arch: "x86_64" }));
    expect(e.message).toMatch(/got an object with no keys/);
    e = errorOf(() => loadPolicy(`[{"code": 6, "jt": 0, "jf": 0, "k": 0}]`, "prog.json", { arch: "x86_64" }));
    expect(e.message).toMatch(/got an array/);
    e = errorOf(() => loadPolicy(`{"a": 1`, "trunc.json", { arch: "x86_64" }));
    expect(e.where).toMatch(/^trunc\.json:1:\d+$/);
    e = errorOf(() => loadPolicy(`{}`, "x.json", { arch: "vax" }));
    expect(e.message).toMatch(/unknown arch "vax"/);
  });

  it("errors inside a dialect keep their places; unknown syscalls name the arch", () => {
    const text = `{"t": {"default_action": "trap", "filter_action": "allow",\n "filter": [{"syscall": "open"}]}}`;
    const e = errorOf(() => loadPolicy(text, "t.json", { arch: "aarch64" }));
    expect(e).toBeInstanceOf(UnknownSyscallError);
    expect(e.oneLine()).toBe(`t.json:2 (/t/filter/0/syscall): unknown syscall "open" for arch aarch64`);
  });
});

describe("loadPolicy: thread selection", () => {
  it("picks one thread (exact, then case-insensitive)", () => {
    let r = loadPolicy(fixture("seccompiler-example.json"), "fc.json", { arch: "x86_64", thread: "api" });
    expect([...r.policies.keys()]).toEqual(["api"]);
    r = loadPolicy(fixture("seccompiler-example.json"), "fc.json", { arch: "x86_64", thread: "VCPU" });
    expect([...r.policies.keys()]).toEqual(["vcpu"]);
  });

  it("an unknown thread lists the available ones", () => {
    const e = errorOf(() => loadPolicy(fixture("seccompiler-example.json"), "fc.json", { arch: "x86_64", thread: "io" }));
    expect(e.message).toBe(`the seccompiler file has no thread "io"; available: vmm, api, vcpu`);
    expect(e.where).toBe("fc.json:1 (root)");
    const o = errorOf(() => loadPolicy(fixture("oci-small.json"), "oci-small.json", { arch: "x86_64", thread: "vmm", kernel: "6.1" }));
    expect(o.message).toBe(`the OCI profile (one policy, "oci-small") has no thread "vmm"; available: oci-small`);
  });

  it("an OCI profile answers to its own name", () => {
    const r = loadPolicy(fixture("oci-small.json"), "oci-small.json", { arch: "x86_64", thread: "oci-small", kernel: "6.1" });
    expect([...r.policies.keys()]).toEqual(["oci-small"]);
  });
});

describe("loadPolicy: every corpus policy file", () => {
  const root = corpusPath();
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const n of readdirSync(dir)) {
      const p = join(dir, n);
      if (statSync(p).isDirectory()) walk(p);
      else if (n.endsWith(".json")) files.push(p);
    }
  };
  if (root) {
    walk(join(root, "filters", "firecracker"));
    walk(join(root, "profiles"));
  }

  it("loads with the dialect its directory implies", () => {
    expect(files.length).toBe(8);
    for (const f of files) {
      const arch = /aarch64/.test(f) ? "aarch64" : "x86_64";
      const r = loadPolicy(readFileSync(f, "utf8"), f, { arch, kernel: "6.1" });
      expect(r.dialect, f).toBe(/profiles/.test(f) ? "oci" : "seccompiler");
      expect(r.policies.size, f).toBeGreaterThan(0);
      for (const ir of r.policies.values()) {
        expect(ir.arches[0].arch.name).toBe(arch);
        for (const sec of ir.arches) {
          const nrs = sec.syscalls.map((s) => s.nr >>> 0);
          expect(nrs).toEqual([...nrs].sort((a, b) => a - b));
        }
      }
    }
  });
});
