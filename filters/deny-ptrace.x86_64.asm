; A second, older filter to stack under the VMM filter: it denies ptrace and
; process_vm_readv/writev with EPERM and allows everything else. Stacked filters all run;
; the most restrictive result wins (kernel precedence), ties go to the newest filter.
.arch x86_64

        ld arch
        jeq #AUDIT_ARCH_X86_64, next, kill
        ld nr
        jge #0x40000000, kill, next
        jeq #ptrace, deny
        jeq #process_vm_readv, deny
        jeq #process_vm_writev, deny
        jeq #openat, eacces
        ret ALLOW
deny:   ret ERRNO(1)
eacces: ret ERRNO(13)
kill:   ret KILL_PROCESS
