// C source/header containers: `struct sock_filter NAME[] = { ... };` arrays.
//
// Writing: a self-contained header (`#include <linux/filter.h>`, the array as numeric tuples, a
// length define and a `struct sock_fprog`), the form people paste into launchers and tests.
//
// Reading: filters embedded in C are written in many styles, and a reader that understood only
// our own output would be of little use. Accepted:
//   - numeric tuples `{ 0x20, 0, 0, 0x00000004 }` (decimal, hex, octal; designated
//     `{ .code = …, .jt = …, .jf = …, .k = … }` too), as written by this module and by tools that
//     print sock_filter arrays;
//   - the uapi macros BPF_STMT(code, k) / BPF_JUMP(code, k, jt, jf) with the BPF_* field
//     constants, SECCOMP_RET_*, AUDIT_ARCH_*, errno names, offsetof(struct seccomp_data, …),
//     __NR_name / SYS_name (needs an arch), and C integer arithmetic with casts;
//   - byte arrays `unsigned char NAME[] = {32,0,0,0,4,0,0,0, …}` (seccomp-tools' `carray`
//     output), in the target's byte order, read only when the file has no sock_filter array;
//   - the file's own `#define`s (object- and function-like, `##`, variadic) and conditional
//     blocks (`#if`/`#ifdef`/`#elif`/`#else`/`#endif`), since real filters hide their
//     instructions behind helper macros such as ALLOW_SYSCALL(name).
// This is deliberately not a C compiler: no #include is followed, and anything the evaluator
// does not know is an error naming the file and line, never a guess.
//
// offsetof(struct seccomp_data, args[i]) is 16 + 8i, the start of the 64-bit field. On a
// little-endian target that word is the low half (docs/formats.md / docs/kernel.md section 2); C
// code for big-endian targets adds 4 itself, and so does the arithmetic here.
//
// The reader and writer live in rooms under src/formats/c/: constants.ts (what is known without
// an #include), tokens.ts (tokenizer), expr.ts (integer expressions), preprocess.ts (macros and
// conditionals), read.ts (arrays to programs), write.ts (programs to a header).
export { readCHeader, type ReadCHeaderOptions } from "./c/read.js";
export { writeCHeader, cIdentifier, type NamedProgram, type WriteCHeaderOptions } from "./c/write.js";
