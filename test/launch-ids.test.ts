// Out-of-range uid/gid must never reach setresuid: 2^32 wraps to 0 (root) and 4294967295 is
// (uid_t)-1, "unchanged". Every way in (flags, jail file, environment, API) refuses with one line
// naming the field and starts nothing; the launcher refuses too when the host is bypassed; and a
// good drop is checked by the launcher itself (the program sees exactly the ids asked for).
import { describe, it, expect, beforeAll } from "vitest";
import { skipWhen } from "./support/skip.js";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot } from "./support/corpus.js";
import { launch } from "../src/launch/launch.js";
import { InputError } from "../src/errors.js";
import { LAUNCHER, launcherSkipReason, rootSkipReason } from "./fixtures/launch/support.js";

const bin = join(repoRoot, "bin/sysfence.js");
const BAD = ["4294967295", "4294967296", "18446744073709551616", "-1"];
let dir: string;

function sf(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: "utf8", cwd: dir, timeout: 60_000, env: { ...process.env, ...env } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "sysfence-launch-ids-"));
});

describe("launch refuses uids and gids that setresuid would not apply", () => {
  for (const v of BAD) {
    for (const field of ["uid", "gid"]) {
      it(`--${field} ${v} (flag) exits 2 and starts nothing`, () => {
        const marker = join(dir, `ran-flag-${field}-${v}`);
        const r = sf(["launch", `--${field}`, v, "--", "/bin/sh", "-c", `touch ${marker}`]);
        expect(r.code).toBe(2);
        expect(r.err.trim().split("\n")).toHaveLength(1);
        expect(r.err).toMatch(new RegExp(`${field}`));
        expect(existsSync(marker)).toBe(false);
      });
    }
  }

  it("a jail file with uid/gid 2^32 exits 2 naming the JSON pointer", () => {
    const f = join(dir, "jail.json");
    writeFileSync(f, '{"uid": 4294967296, "gid": 4294967296}');
    const marker = join(dir, "ran-file");
    const r = sf(["launch", "--jail", f, "--", "/bin/sh", "-c", `touch ${marker}`]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/jail\.json\/(uid|gid)/);
    expect(r.err).toMatch(/0\.\.4294967294/);
    expect(existsSync(marker)).toBe(false);
  });

  it("SYSFENCE_JAIL_UID=4294967296 exits 2 naming the variable", () => {
    const marker = join(dir, "ran-env");
    const r = sf(["launch", "--", "/bin/sh", "-c", `touch ${marker}`], { SYSFENCE_JAIL_UID: "4294967296" });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/uid/);
    expect(existsSync(marker)).toBe(false);
  });

  it("the API throws an InputError for uid/gid 4294967295, 2^32 and 2^64", () => {
    for (const v of [4294967295, 4294967296, 2 ** 64, -1, 1.5]) {
      for (const field of ["uid", "gid"]) {
        let err: unknown;
        try {
          launch({ argv: ["/bin/true"], jail: { [field]: v } });
        } catch (e) {
          err = e;
        }
        expect(err).toBeInstanceOf(InputError);
        expect((err as InputError).oneLine()).toMatch(new RegExp(`^jail/${field}: must be an id 0\\.\\.4294967294`));
      }
    }
  });
});

describe("the launcher itself (host validation bypassed)", skipWhen(launcherSkipReason()), () => {
  // The launcher's usage errors exit 125 (launcher/README.md), like its other refusals before exec.
  for (const v of ["4294967295", "4294967296", "18446744073709551616", "-1", "+5", " 5", "5x"]) {
    it(`refuses --uid ${JSON.stringify(v)} and --gid ${JSON.stringify(v)} with a usage error`, () => {
      for (const flag of ["--uid", "--gid"]) {
        const marker = join(dir, `ran-native${flag}`);
        const r = spawnSync(LAUNCHER, [flag, v, "--", "/bin/sh", "-c", `touch ${marker}`], { encoding: "utf8", timeout: 30_000 });
        expect(r.status).toBe(125);
        expect(r.stderr).toMatch(/takes an id 0\.\.4294967294/);
        expect(existsSync(marker)).toBe(false);
      }
    });
  }
});

describe("a valid drop holds exactly", skipWhen(rootSkipReason()), () => {
  it("--uid 4294967294 --gid 4294967294 runs the program as those ids, no supplementary groups", () => {
    const r = sf(["launch", "--uid", "4294967294", "--gid", "4294967294", "--", "/bin/sh", "-c", "id -u; id -g; id -G"]);
    expect(r.code).toBe(0);
    expect(r.out.trim().split("\n")).toEqual(["4294967294", "4294967294", "4294967294"]);
  });

  it("--uid 65534 --gid 65534", () => {
    const r = sf(["launch", "--uid", "65534", "--gid", "65534", "--", "/bin/sh", "-c", "id -u; id -g"]);
    expect(r.code).toBe(0);
    expect(r.out.trim().split("\n")).toEqual(["65534", "65534"]);
  });
});
