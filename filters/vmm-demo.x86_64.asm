; A small hand-written allow-list for a VMM process on x86_64, in sysfence assembly
; (docs/asm.md). It shows the shape every serious filter needs:
;   1. check the arch token first (a foreign ABI means other syscall numbers),
;   2. refuse x32 numbers (same token as x86_64, nr | 0x40000000),
;   3. dispatch on nr, with argument checks compared on the low word only where the
;      kernel reads the argument as a 32-bit int (socket's domain).
; `sysfence demo` assembles, checks, disassembles and runs it.
.arch x86_64

        ld arch
        jeq #AUDIT_ARCH_X86_64, next, kill
        ld nr
        jge #0x40000000, kill, next      ; x32 ABI
        jeq #read, allow
        jeq #write, allow
        jeq #close, allow
        jeq #futex, allow
        jeq #ppoll, allow
        jeq #mmap, allow
        jeq #munmap, allow
        jeq #madvise, allow
        jeq #brk, allow
        jeq #rt_sigreturn, allow
        jeq #rt_sigprocmask, allow
        jeq #exit, allow
        jeq #exit_group, allow
        jeq #ioctl, allow
        jeq #socket, socket
        jeq #openat, eperm
        ret TRAP(0)                      ; anything else: SIGSYS the VMM can report

socket: ld args[0].lo                    ; domain is an int: compare the low word only
        jeq #1, allow, eperm             ; AF_UNIX only
eperm:  ret ERRNO(1)
allow:  ret ALLOW
kill:   ret KILL_PROCESS
