#pragma once
// Which OpenBLAS kernel family suits this CPU better than the one OpenBLAS picks itself. Debian's
// OpenBLAS 0.3.21 (DYNAMIC_ARCH) runs its Haswell (AVX2) kernels on AMD CPUs with AVX-512, whose
// SkylakeX kernels run this project's convolutions about 1.4x faster there. OpenBLAS reads the
// choice (OPENBLAS_CORETYPE) once, when the library is loaded (and then sets that variable to what
// it picked), so a program applies it by setting the variable and re-executing itself at the top
// of main(): see useBestBlasKernels(). BRICKYARD_BLAS_REEXEC=0 in the environment turns this off.
#include <cstdlib>
#include <cstring>

#include <unistd.h>

extern "C" char* openblas_get_corename(void);

namespace by {

// "SkylakeX" when OpenBLAS runs its AVX2 kernels (Haswell, Zen) on a CPU with the AVX-512 subsets
// the SkylakeX kernels use; nullptr otherwise.
inline const char* preferredOpenBlasCore() {
    const char* current = openblas_get_corename();
    if (!current || (std::strcmp(current, "Haswell") != 0 && std::strcmp(current, "Zen") != 0)) return nullptr;
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512cd"))
        return "SkylakeX";
#endif
    return nullptr;
}

// Call first thing in main(): sets OPENBLAS_CORETYPE and re-executes the program when a better
// kernel family exists. Returns (doing nothing) when none does or the re-execution fails.
inline void useBestBlasKernels(char** argv) {
    if (std::getenv("BRICKYARD_BLAS_REEXEC")) return;
    const char* core = preferredOpenBlasCore();
    if (!core) return;
    setenv("OPENBLAS_CORETYPE", core, 1);
    setenv("BRICKYARD_BLAS_REEXEC", "1", 1);  // never loop, even if OpenBLAS ignores the variable
    execv("/proc/self/exe", argv);
}

}  // namespace by
