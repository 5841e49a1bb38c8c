#!/usr/bin/python3
# Builds libseccomp filters for the "compile" bench section through Debian's python3-seccomp.
#
# stdin: JSON {"filters": [{"id", "level", "default", "badarch",
#                           "groups": [{"arches": ["x86_64", "x32"], "rules": [
#                               {"name", "action", "args": [[index, op, datum_a, datum_b], ...]}]}]}]}
#   actions are 32-bit seccomp return values; op is EQ/NE/LT/LE/GT/GE/MASKED_EQ (datum_a = mask
#   for MASKED_EQ, as in libseccomp); datums are decimal strings (u64).
# stdout: JSON {"results": {id: {"bpf": base64, "skipped": [{name, arches, error}]} | {"error": "..."}}}
#
# One SyscallFilter per group of ABIs that share an AUDIT_ARCH token (x86_64 and x32 must be in
# one filter), merged into the first; within a filter every rule goes to every ABI that has the
# syscall, as runc does. Syscalls are added by name; libseccomp maps names through the native
# arch's table. Actions are 32-bit seccomp return values, passed as the C int the binding takes.
import base64, json, sys, tempfile
import seccomp

ARCHES = {
    "x86_64": seccomp.Arch.X86_64, "x86": seccomp.Arch.X86, "x32": seccomp.Arch.X32,
    "aarch64": seccomp.Arch.AARCH64, "arm": seccomp.Arch.ARM,
    "s390x": seccomp.Arch.S390X, "s390": seccomp.Arch.S390,
    "ppc64le": seccomp.Arch.PPC64LE, "ppc64": seccomp.Arch.PPC64, "ppc": seccomp.Arch.PPC,
    "mips": seccomp.Arch.MIPS, "mipsel": seccomp.Arch.MIPSEL,
}
OPS = {"EQ": seccomp.EQ, "NE": seccomp.NE, "LT": seccomp.LT, "LE": seccomp.LE,
       "GT": seccomp.GT, "GE": seccomp.GE, "MASKED_EQ": seccomp.MASKED_EQ}


def s32(v):
    """An action as the C int the binding takes (KILL_PROCESS = 0x80000000 is negative)."""
    return v - (1 << 32) if v >= 1 << 31 else v


def new_filter(f, arches):
    flt = seccomp.SyscallFilter(s32(f["default"]))
    flt.set_attr(seccomp.Attr.ACT_BADARCH, s32(f["badarch"]))
    flt.set_attr(seccomp.Attr.CTL_OPTIMIZE, f["level"])
    native = seccomp.system_arch() & 0xFFFFFFFF  # unsigned here, signed in Arch
    tokens = [ARCHES[a] & 0xFFFFFFFF for a in arches]
    # The native ABI goes first when unwanted: libseccomp refuses to add an ABI of the other
    # byte order (s390x on an x86_64 host) while the native one is still in the filter.
    if native not in tokens:
        flt.remove_arch(seccomp.Arch.NATIVE)
    for a, t in zip(arches, tokens):
        if t != native:
            flt.add_arch(ARCHES[a])
    return flt


def build(f):
    base = None
    skipped = []
    for grp in f["groups"]:
        flt = new_filter(f, grp["arches"])
        for r in grp["rules"]:
            args = [seccomp.Arg(i, OPS[op], int(a), int(b)) for i, op, a, b in r["args"]]
            try:
                flt.add_rule(s32(r["action"]), r["name"], *args)
            except Exception as e:
                # -EINVAL: a name this libseccomp does not know (runc skips those too);
                # -EEXIST: a conflicting duplicate
                skipped.append({"name": r["name"], "arches": grp["arches"], "error": str(e)})
        if base is None:
            base = flt
        else:
            base.merge(flt)
    with tempfile.TemporaryFile() as tmp:
        base.export_bpf(tmp)
        tmp.seek(0)
        data = tmp.read()
    return {"bpf": base64.b64encode(data).decode(), "skipped": skipped}


def main():
    req = json.load(sys.stdin)
    out = {}
    for f in req["filters"]:
        try:
            out[f["id"]] = build(f)
        except Exception as e:
            out[f["id"]] = {"error": f"{type(e).__name__}: {e}"}
    json.dump({"results": out}, sys.stdout)


main()
