// Policy files that are not JSON: recognised by content (src/formats/detect.ts sniffText) and
// read by their dialect's room. minijail: src/policy/minijail/.
import { InputError } from "../errors.js";
import { sniffText } from "../formats/detect.js";
import { resolveArch, type ArchLike } from "../syscalls/index.js";
import { loadMinijail, type MinijailOptions } from "./minijail/index.js";
import type { LoadedPolicy } from "./frontend.js";
import { pickThread } from "./frontend.js";

export interface TextPolicyOptions {
  /** minijail policies: semantics, constants, include roots, default action. */
  minijail?: MinijailOptions;
}

/** Reads a non-JSON policy file; an error names what the file looks like when it is none. */
export function loadTextPolicy(
  text: string, file: string, opts: TextPolicyOptions & { arch?: ArchLike; thread?: string },
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
    default:
      throw new InputError(`looks like a ${sniffed.what}: not supported yet`, file);
  }
  if (opts.thread !== undefined) out.policies = pickThread(out.policies, opts.thread, out.dialect, file);
  return out;
}
