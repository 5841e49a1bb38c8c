// Policy files that are not JSON: recognised by content (src/formats/detect.ts sniffText) and
// read by their dialect's room. minijail: src/policy/minijail/; Kubernetes SeccompProfile YAML:
// src/policy/kubernetes.ts; LXC seccomp policies: src/policy/lxc.ts (both through the OCI frontend).
import { InputError } from "../errors.js";
import { sniffText } from "../formats/detect.js";
import { resolveArch, type ArchLike } from "../syscalls/index.js";
import { loadMinijail, type MinijailOptions } from "./minijail/index.js";
import { hostArch } from "../syscalls/arches.js";
import { loadKubernetes } from "./kubernetes.js";
import { loadLxc, lxcPolicyName } from "./lxc.js";
import type { LoadedPolicy } from "./frontend.js";
import { pickThread } from "./frontend.js";

export interface TextPolicyOptions {
  /** minijail policies: semantics, constants, include roots, default action. */
  minijail?: MinijailOptions;
}

/** Reads a non-JSON policy file; an error names what the file looks like when it is none. */
export function loadTextPolicy(
  text: string, file: string, opts: TextPolicyOptions & { arch?: ArchLike; thread?: string; kernel?: string },
): LoadedPolicy {
  const sniffed = sniffText(text);
  if (sniffed.kind === "unsupported") throw new InputError(`looks like ${sniffed.what}: not supported`, file);
  if (sniffed.kind === "other") {
    throw new InputError(
      "is not a policy sysfence reads: expected seccompiler or OCI JSON, a minijail policy (`syscall: filter` lines), " +
        "a Kubernetes SeccompProfile or an LXC seccomp policy",
      file,
    );
  }
  const arch = opts.arch === undefined ? undefined : resolveArch(opts.arch);
  let out: LoadedPolicy;
  switch (sniffed.dialect) {
    case "minijail": {
      const r = loadMinijail(text, file, arch, opts.minijail);
      out = { policies: new Map([[r.ir.name ?? file, r.ir]]), warnings: r.warnings, dialect: "minijail", frequency: r.frequency };
      break;
    }
    case "kubernetes": {
      // Like OCI profiles, a SeccompProfile names no single arch: the target defaults to this machine's.
      const r = loadKubernetes(text, file, { arch: arch ?? hostArch(), kernel: opts.kernel });
      out = { policies: r.policies, warnings: r.warnings, dialect: "kubernetes" };
      if (r.metas.size === 1) out.meta = [...r.metas.values()][0];
      break;
    }
    case "lxc": {
      // LXC compiles for the machine it runs on (its native arch and that arch's compat ABIs).
      const r = loadLxc(text, file, { arch: arch ?? hostArch() });
      const name = file === "<stdin>" ? "<stdin>" : lxcPolicyName(file);
      out = { policies: new Map([[name, r.policy]]), warnings: r.warnings, dialect: "lxc", meta: r.meta };
      break;
    }
  }
  if (opts.thread !== undefined) out.policies = pickThread(out.policies, opts.thread, out.dialect, file);
  return out;
}
