#pragma once
// Kernel choice of the com.microsoft MatMulNBits operator (ops_quant.cpp). The executor picks the
// best one for the CPU; tests and benchmarks may force another to check or time every path.
#include <vector>

namespace by {

// "avx512", "avx2" or "portable": those this CPU can run, best first.
std::vector<const char*> matmulNBitsKernels();
// Forces one of them for every later MatMulNBits run (nullptr = back to the best); false when the
// name is unknown or this CPU lacks it.
bool forceMatmulNBitsKernel(const char* name);
const char* matmulNBitsKernelName();

}  // namespace by
