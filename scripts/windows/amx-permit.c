/* Test-only, for running Windows programs under Wine on Linux (scripts/test-windows.sh); never
   shipped. Linux gives a process Intel AMX tile state only when it asks (arch_prctl
   ARCH_REQ_XCOMP_PERM): ONNX Runtime's Linux build asks, its Windows build does not (Windows
   enables AMX for every process), so under Wine on an AMX machine onnxruntime.dll's int8 kernels
   die on their first `tileloadd` ("illegal instruction"). Preloaded into every Wine process, this
   asks once at start-up; without AMX (or on an older kernel) the request fails harmlessly.
   Build: gcc -O2 -shared -fPIC -o amx-permit.so amx-permit.c */
#define _GNU_SOURCE
#include <sys/syscall.h>
#include <unistd.h>

#define ARCH_REQ_XCOMP_PERM 0x1023
#define XFEATURE_XTILEDATA 18

__attribute__((constructor)) static void sideman_amx_permit(void) {
    syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA);
}
