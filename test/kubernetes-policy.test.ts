// Kubernetes SeccompProfile (security-profiles-operator CRD) files: hand-written documents for
// every form with the action the operator's docs and the OCI runtime-spec give for concrete
// calls (not sysfence's output), baseProfileName as SPO unions it, located errors, and the
// operator's own example files (test/corpus/policies/kubernetes, Apache-2.0).
import { describe, it, expect, beforeAll } from "vitest";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compilePolicyText, type CompileResult } from "../src/policy/index.js";
import { sniffText } from "../src/formats/detect.js";
import { loadFilters } from "../src/formats/detect.js";
import { Action } from "../src/engine/actions.js";
import { InputError } from "../src/errors.js";
import { repoRoot } from "./support/corpus.js";
import { actOf } from "./support/policy-act.js";

const ALLOW = Action.ALLOW, LOG = Action.LOG, KILL_THREAD = Action.KILL_THREAD, KILL_PROCESS = Action.KILL_PROCESS;
const errno = (n: number) => (Action.ERRNO | n) >>> 0;
const CORPUS = join(repoRoot, "test", "corpus", "policies", "kubernetes");
const HEAD = "apiVersion: security-profiles-operator.x-k8s.io/v1beta1\nkind: SeccompProfile\n";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "sysfence-k8s-"));
});

function compile(text: string, name = "p.yaml", arch = "x86_64"): CompileResult {
  const file = join(dir, name);
  writeFileSync(file, text);
  return compilePolicyText(text, file, { arch });
}
const one = (r: CompileResult, name: string) => r.programs.find((p) => p.name === name)!;
function errorOf(text: string, name = "bad.yaml"): string {
  try {
    compile(text, name);
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return (e as InputError).oneLine();
  }
  throw new Error("expected an error");
}

describe("SeccompProfile forms", () => {
  it("is detected as a Kubernetes SeccompProfile", () => {
    expect(sniffText(HEAD + "metadata:\n  name: a\nspec:\n  defaultAction: SCMP_ACT_ALLOW\n")).toMatchObject({ kind: "policy", dialect: "kubernetes" });
  });

  it("spec holds the OCI fields: default, names, errnoRet, args (value, valueTwo, every op)", () => {
    const r = compile(HEAD + `metadata:
  name: app
spec:
  defaultAction: SCMP_ACT_ERRNO
  architectures: [SCMP_ARCH_X86_64]
  syscalls:
    - action: SCMP_ACT_ALLOW
      names: [read, write]
    - action: SCMP_ACT_ERRNO
      errnoRet: 38
      names: [mount]
    - action: SCMP_ACT_ALLOW
      names: [personality]
      args:
        - {index: 0, value: 0x0, op: SCMP_CMP_EQ}
    - action: SCMP_ACT_ALLOW
      names: [mmap]
      args:
        - index: 2
          value: 4
          valueTwo: 0
          op: SCMP_CMP_MASKED_EQ
    - action: SCMP_ACT_KILL_PROCESS
      names: [ptrace]
    - action: SCMP_ACT_LOG
      names: [kill]
      args: [{index: 1, value: 9, op: SCMP_CMP_NE}]
    - action: SCMP_ACT_ALLOW
      names: [close]
      args: [{index: 0, value: 3, op: SCMP_CMP_GE}]
`);
    const p = one(r, "app");
    expect(r.dialect).toBe("kubernetes");
    expect(actOf(p, "read")).toBe(ALLOW);
    expect(actOf(p, "write")).toBe(ALLOW);
    expect(actOf(p, "openat")).toBe(errno(1)); // SCMP_ACT_ERRNO without errnoRet: EPERM
    expect(actOf(p, "mount")).toBe(errno(38));
    expect(actOf(p, "personality", [0n])).toBe(ALLOW);
    expect(actOf(p, "personality", [8n])).toBe(errno(1));
    expect(actOf(p, "mmap", [0n, 4096n, 3n])).toBe(ALLOW); // (3 & 4) == 0
    expect(actOf(p, "mmap", [0n, 4096n, 7n])).toBe(errno(1)); // PROT_EXEC set
    expect(actOf(p, "ptrace")).toBe(KILL_PROCESS);
    expect(actOf(p, "kill", [1n, 15n])).toBe(LOG);
    expect(actOf(p, "kill", [1n, 9n])).toBe(errno(1));
    expect(actOf(p, "close", [2n])).toBe(errno(1));
    expect(actOf(p, "close", [3n])).toBe(ALLOW);
    expect(actOf(p, "close", [1n << 40n])).toBe(ALLOW); // 64-bit compare on x86_64
  });

  it("several documents give one program each; --thread picks by metadata.name", () => {
    const text = `---\n${HEAD}metadata:\n  name: a\nspec:\n  defaultAction: SCMP_ACT_ALLOW\n---\n${HEAD}metadata:\n  name: b\nspec:\n  defaultAction: SCMP_ACT_KILL\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n`;
    const r = compile(text, "multi.yaml");
    expect(r.programs.map((p) => p.name)).toEqual(["a", "b"]);
    expect(actOf(one(r, "b"), "read")).toBe(KILL_THREAD);
    expect(r.warnings.some((w) => /ConfigMap is not a SeccompProfile; skipped/.test(w.message))).toBe(true);
    const picked = compilePolicyText(text, join(dir, "multi.yaml"), { arch: "x86_64", thread: "b" });
    expect(picked.programs.map((p) => p.name)).toEqual(["b"]);
    const filters = loadFilters(join(dir, "multi.yaml"), { thread: "a" });
    expect(filters.map((f) => f.thread)).toEqual(["a"]);
  });

  it("errnoRet 0 is dropped by the operator (int32 omitempty): the runtime returns EPERM", () => {
    const r = compile(HEAD + "metadata:\n  name: z\nspec:\n  defaultAction: SCMP_ACT_ALLOW\n  syscalls:\n    - {action: SCMP_ACT_ERRNO, errnoRet: 0, names: [mknod]}\n");
    expect(actOf(one(r, "z"), "mknod")).toBe(errno(1));
    expect(r.warnings.some((w) => /errnoRet 0/.test(w.message))).toBe(true);
  });

  it("v1 and v1alpha1 API versions are read too", () => {
    for (const v of ["v1", "v1alpha1"]) {
      const r = compile(`apiVersion: security-profiles-operator.x-k8s.io/${v}\nkind: SeccompProfile\nmetadata:\n  name: v\nspec:\n  defaultAction: SCMP_ACT_LOG\n`);
      expect(actOf(one(r, "v"), "read")).toBe(LOG);
    }
  });
});

describe("baseProfileName (SPO's union of syscalls)", () => {
  it("unions the base's syscalls into the profile, keeping the profile's default", () => {
    const r = compile(`${HEAD}metadata:\n  name: base\nspec:\n  defaultAction: SCMP_ACT_KILL\n  syscalls:\n    - {action: SCMP_ACT_ALLOW, names: [read, write]}\n    - {action: SCMP_ACT_ERRNO, errnoRet: 13, names: [mount]}\n---\n${HEAD}metadata:\n  name: app\nspec:\n  defaultAction: SCMP_ACT_ERRNO\n  baseProfileName: base\n  syscalls:\n    - {action: SCMP_ACT_ALLOW, names: [close]}\n    - {action: SCMP_ACT_KILL_PROCESS, names: [write]}\n`, "base.yaml");
    const app = one(r, "app");
    expect(actOf(app, "read")).toBe(ALLOW); // from the base
    expect(actOf(app, "close")).toBe(ALLOW); // its own
    expect(actOf(app, "write")).toBe(ALLOW); // both: the less restrictive action (ALLOW over KILL_PROCESS)
    expect(actOf(app, "mount")).toBe(errno(13)); // the base's errnoRet travels with its action
    expect(actOf(app, "openat")).toBe(errno(1)); // the profile's own default, not the base's
  });

  it("args of both sides are combined in one entry unless one side has none", () => {
    const r = compile(`${HEAD}metadata:\n  name: b\nspec:\n  defaultAction: SCMP_ACT_ERRNO\n  syscalls:\n    - {action: SCMP_ACT_ALLOW, names: [socket], args: [{index: 0, value: 1, op: SCMP_CMP_EQ}]}\n    - {action: SCMP_ACT_ALLOW, names: [ioctl]}\n---\n${HEAD}metadata:\n  name: c\nspec:\n  defaultAction: SCMP_ACT_ERRNO\n  baseProfileName: b\n  syscalls:\n    - {action: SCMP_ACT_ALLOW, names: [socket], args: [{index: 1, value: 2, op: SCMP_CMP_EQ}]}\n    - {action: SCMP_ACT_ALLOW, names: [ioctl], args: [{index: 1, value: 5, op: SCMP_CMP_EQ}]}\n`, "args.yaml");
    const c = one(r, "c");
    // socket: [a0 == 1, a1 == 2] ANDed in one entry (the merger appends args).
    expect(actOf(c, "socket", [1n, 2n])).toBe(ALLOW);
    expect(actOf(c, "socket", [1n, 1n])).toBe(errno(1));
    expect(actOf(c, "socket", [2n, 2n])).toBe(errno(1));
    // ioctl: the base allows it unconditionally, so the union has no args.
    expect(actOf(c, "ioctl", [0n, 7n])).toBe(ALLOW);
  });

  it("finds the base in a YAML file beside the profile (the vendored runc base profile)", () => {
    const d = mkdtempSync(join(tmpdir(), "sysfence-k8s-base-"));
    writeFileSync(join(d, "baseprofile-runc.yaml"), readFileSync(join(CORPUS, "baseprofile-runc.yaml")));
    const text = `apiVersion: security-profiles-operator.x-k8s.io/v1\nkind: SeccompProfile\nmetadata:\n  name: profile1\nspec:\n  defaultAction: SCMP_ACT_ERRNO\n  baseProfileName: runc-v1.4.2\n  syscalls:\n    - action: SCMP_ACT_ALLOW\n      names:\n        - exit_group\n`;
    writeFileSync(join(d, "profile1.yaml"), text);
    const p = compilePolicyText(text, join(d, "profile1.yaml"), { arch: "x86_64" }).programs[0];
    expect(actOf(p, "exit_group")).toBe(ALLOW);
    expect(actOf(p, "execve")).toBe(ALLOW); // listed by the runc base profile
    expect(actOf(p, "mount")).toBe(errno(1));
  });

  it("a missing base, an oci:// base and a cycle are located errors", () => {
    expect(errorOf(`${HEAD}metadata:\n  name: a\nspec:\n  defaultAction: SCMP_ACT_ERRNO\n  baseProfileName: nope\n`, "missing.yaml"))
      .toMatch(/missing\.yaml:7 \(\/spec\/baseProfileName\): base profile "nope" is not in this file/);
    expect(errorOf(`${HEAD}metadata:\n  name: a\nspec:\n  defaultAction: SCMP_ACT_ERRNO\n  baseProfileName: oci://ghcr.io/x/y:1\n`, "oci.yaml"))
      .toMatch(/oci\.yaml:7 .*OCI artifact/);
    expect(errorOf(`${HEAD}metadata:\n  name: a\nspec:\n  defaultAction: SCMP_ACT_ERRNO\n  baseProfileName: b\n---\n${HEAD}metadata:\n  name: b\nspec:\n  defaultAction: SCMP_ACT_ERRNO\n  baseProfileName: a\n`, "cycle.yaml"))
      .toMatch(/cycle\.yaml:\d+ .*more than 15 levels/);
  });
});

describe("located errors", () => {
  it("YAML syntax errors are FILE:LINE:COL", () => {
    expect(errorOf(`${HEAD}metadata:\n  name: a\nspec:\n  syscalls: [\n`, "syn.yaml")).toMatch(/syn\.yaml:\d+:\d+: invalid YAML/);
  });
  it("fields the CRD does not have are refused, at their line", () => {
    expect(errorOf(`${HEAD}metadata:\n  name: a\nspec:\n  defaultAction: SCMP_ACT_ERRNO\n  defaultErrnoRet: 38\n`, "f.yaml"))
      .toMatch(/f\.yaml:7 .*unknown field "defaultErrnoRet"/);
    expect(errorOf(`${HEAD}metadata:\n  name: a\nspec:\n  defaultAction: SCMP_ACT_ERRNO\n  syscalls:\n    - {action: SCMP_ACT_ALLOW, names: [read], includes: {caps: [X]}}\n`, "g.yaml"))
      .toMatch(/g\.yaml:8 .*unknown field "includes"/);
  });
  it("OCI errors point into the YAML (pointer and line)", () => {
    expect(errorOf(`${HEAD}metadata:\n  name: a\nspec:\n  defaultAction: SCMP_ACT_ERRNO\n  syscalls:\n    - action: SCMP_ACT_ALLOW\n      names: [read]\n      args:\n        - {index: 7, value: 1, op: SCMP_CMP_EQ}\n`, "i.yaml"))
      .toMatch(/i\.yaml:11 \(\/spec\/syscalls\/0\/args\/0\/index\): .*out of range: 7/);
    expect(errorOf(`${HEAD}metadata:\n  name: a\nspec:\n  defaultAction: SCMP_ACT_NOPE\n`, "a.yaml")).toMatch(/a\.yaml:6 \(\/spec\/defaultAction\): unknown action/);
  });
  it("values beyond the CRD's int64 and a wrong apiVersion are refused", () => {
    expect(errorOf(`${HEAD}metadata:\n  name: a\nspec:\n  defaultAction: SCMP_ACT_ERRNO\n  syscalls:\n    - {action: SCMP_ACT_ALLOW, names: [read], args: [{index: 0, value: 18446744073709551615, op: SCMP_CMP_EQ}]}\n`, "v.yaml"))
      .toMatch(/v\.yaml:8 .*int64/);
    expect(errorOf(`apiVersion: example.com/v1\nkind: SeccompProfile\nmetadata:\n  name: a\nspec:\n  defaultAction: SCMP_ACT_ERRNO\n`, "api.yaml")).toMatch(/api\.yaml:1 .*security-profiles-operator/);
  });
});

describe("the operator's example profiles (vendored)", () => {
  it("seccompprofile.yaml: four profiles, their documented meaning", () => {
    const file = join(CORPUS, "seccompprofile.yaml");
    const r = compilePolicyText(readFileSync(file, "utf8"), file, { arch: "x86_64" });
    expect(r.programs.map((p) => p.name)).toEqual(["profile-block-all", "profile-complain-unsafe", "profile-allow-unsafe", "profile-complain-block-high-risk"]);
    expect(actOf(one(r, "profile-block-all"), "read")).toBe(errno(1)); // "Blocks all syscalls."
    expect(actOf(one(r, "profile-complain-unsafe"), "read")).toBe(LOG); // "Allows all syscalls whilst logging"
    expect(actOf(one(r, "profile-allow-unsafe"), "ptrace")).toBe(ALLOW);
    const hr = one(r, "profile-complain-block-high-risk");
    expect(actOf(hr, "futex")).toBe(ALLOW);
    expect(actOf(hr, "bpf")).toBe(errno(1)); // "blocking high-risk syscalls"
    expect(actOf(hr, "openat")).toBe(LOG);
  });
});

describe("kubectl lists", () => {
  // `kubectl get seccompprofiles -o yaml` wraps the objects in `kind: List` / `items:`.
  const LIST = `apiVersion: v1
kind: List
items:
- apiVersion: security-profiles-operator.x-k8s.io/v1beta1
  kind: SeccompProfile
  metadata:
    name: web
    namespace: prod
  spec:
    defaultAction: SCMP_ACT_ERRNO
    syscalls:
      - {action: SCMP_ACT_ALLOW, names: [read]}
- apiVersion: v1
  kind: ConfigMap
  metadata:
    name: cm
- apiVersion: security-profiles-operator.x-k8s.io/v1beta1
  kind: SeccompProfile
  metadata:
    name: db
  spec:
    defaultAction: SCMP_ACT_ALLOW
`;
  it("a List's SeccompProfile items give one program each; other kinds are skipped with a warning", () => {
    expect(sniffText(LIST)).toMatchObject({ kind: "policy", dialect: "kubernetes" });
    const r = compile(LIST, "list.yaml");
    expect(r.programs.map((p) => p.name)).toEqual(["web", "db"]);
    expect(actOf(one(r, "web"), "read")).toBe(ALLOW);
    expect(actOf(one(r, "web"), "openat")).toBe(errno(1));
    expect(actOf(one(r, "db"), "openat")).toBe(ALLOW);
    expect(r.warnings.some((w) => /ConfigMap is not a SeccompProfile; skipped/.test(w.message))).toBe(true);
  });

  it("a SeccompProfileList without items is a located error", () => {
    expect(errorOf("apiVersion: security-profiles-operator.x-k8s.io/v1beta1\nkind: SeccompProfileList\nmetadata: {}\n# kind: SeccompProfile\n")).toMatch(/bad\.yaml.*items/);
  });
});
