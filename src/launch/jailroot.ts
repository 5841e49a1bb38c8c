// A per-VM jail root in the manner of Firecracker's jailer: <base>/<exec name>/<id>/root, with
// the VM's files (kernel, rootfs, drives) hard-linked into it (copied when they are on another
// filesystem) and owned by the uid/gid the jail drops to. The launcher pivots into it; the
// whole <base>/<exec name>/<id> directory is removed on teardown.
import { chownSync, copyFileSync, existsSync, linkSync, mkdirSync, rmSync, rmdirSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { EnvironmentError, InputError } from "../errors.js";

export interface JailRootOptions {
  /** Base directory (Firecracker's --chroot-base-dir). */
  base: string;
  /** VM id: 1-64 characters, letters, digits and "-" (Firecracker's rule). */
  id: string;
  /** Files placed at the top of the root by their base name (kernel, rootfs, drives). */
  files?: string[];
}

export interface PreparedJailRoot {
  /** The directory removed on teardown: <base>/<exec>/<id>. */
  vmDir: string;
  /** The new root: <vmDir>/root. */
  root: string;
  /** Each file's host path -> its path inside the jail ("/" + base name). */
  files: Record<string, string>;
}

const ID_RE = /^[A-Za-z0-9-]{1,64}$/;

export function sanitiseId(id: string): string {
  if (!ID_RE.test(id)) {
    throw new InputError(`jail id "${id}" is not allowed: use 1-64 letters, digits or "-" (it becomes a directory name)`);
  }
  return id;
}

/** Creates the jail root; on failure removes what it made and throws. */
export function prepareJailRoot(o: JailRootOptions, execName: string, owner: { uid?: number; gid?: number }): PreparedJailRoot {
  const id = sanitiseId(o.id);
  const exec = basename(execName).replace(/[^A-Za-z0-9._-]/g, "_") || "vmm";
  const base = resolve(o.base);
  const vmDir = join(base, exec, id);
  const root = join(vmDir, "root");
  if (existsSync(vmDir)) {
    throw new EnvironmentError(`jail ${vmDir} already exists (a VM with id "${id}" is running, or a previous one was not torn down)`);
  }
  const files: Record<string, string> = {};
  try {
    mkdirSync(root, { recursive: true, mode: 0o755 });
    const uid = owner.uid ?? -1;
    const gid = owner.gid ?? -1;
    if (uid >= 0 || gid >= 0) chownSync(root, uid, gid);
    const seen = new Set<string>();
    for (const f of o.files ?? []) {
      const name = basename(f);
      if (seen.has(name)) throw new InputError(`two jail files are named "${name}"`);
      seen.add(name);
      const dst = join(root, name);
      let st;
      try {
        st = statSync(f);
      } catch (e) {
        throw new InputError(`jail file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, f);
      }
      if (!st.isFile()) throw new InputError("jail file is not a regular file", f);
      try {
        linkSync(f, dst);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== "EXDEV" && code !== "EPERM") throw e;
        copyFileSync(f, dst);
      }
      if (uid >= 0 || gid >= 0) chownSync(dst, uid, gid);
      files[resolve(f)] = "/" + name;
    }
  } catch (e) {
    removeJailRoot({ vmDir, root, files });
    if (e instanceof InputError || e instanceof EnvironmentError) throw e;
    throw new EnvironmentError(`cannot prepare jail ${vmDir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return { vmDir, root, files };
}

/** Removes <base>/<exec>/<id>, and <base>/<exec> when no other VM is left in it. */
export function removeJailRoot(j: PreparedJailRoot): void {
  rmSync(j.vmDir, { recursive: true, force: true });
  try {
    rmdirSync(dirname(j.vmDir));
  } catch {
    // another VM of the same executable still has its jail there
  }
}
