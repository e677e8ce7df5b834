#pragma once
// Element-wise chain fusion for the executor. Exported CNNs spell activations as strings of small
// nodes (PaddleOCR's hard-swish is Add, Clip, Mul, Div between two learned affine Mul/Add pairs:
// eight passes over every feature map). At plan time each such chain behind a node that produces a
// fresh f32 tensor (Conv, MatMul, an element-wise op...) becomes one small register program, run
// in place over the producer's output in cache-sized segments: one pass instead of eight.
//
// Internal to the executor (engine/executor.cpp): the graph itself is not changed, so a run can
// always fall back to the original nodes (captures need every intermediate value; a constant that
// would broadcast the output to a larger shape is only known at run time).
#include <cstdint>
#include <functional>
#include <vector>

#include "engine/graph.h"
#include "engine/tensor.h"

namespace by {

class ThreadPool;

enum class FusedOp : uint8_t {
    Add, Sub, Mul, Div,  // binary
    Relu, Sigmoid, Tanh, HardSigmoid, HardSwish, LeakyRelu, Clip, Erf, Exp, Neg, Abs, Sqrt  // unary
};

struct FusedOperand {
    enum class Kind : uint8_t { None, Reg, Const } kind = Kind::None;
    int reg = 0;    // Kind::Reg
    int konst = 0;  // Kind::Const: index into FusedChain::consts
};

struct FusedInstr {
    FusedOp op = FusedOp::Add;
    int dst = 0;
    FusedOperand a, b;
    float p0 = 0, p1 = 0;  // alpha/beta, clip bounds
};

struct FusedChain {
    int head = -1;              // node whose single output is register 0
    std::vector<int> absorbed;  // nodes the program replaces, in execution order
    int finalValue = -1;        // the value the program leaves in register 0
    int regs = 1;
    std::vector<FusedInstr> code;
    std::vector<Tensor> consts;  // f32 constants the code reads (scalars or one-axis vectors)
};

// Chains in `g`, visiting heads in `order`. `constOf(v)` gives the plan-time value of a constant
// (nullptr otherwise), `skip[n]` marks nodes that never run, `pinned[v]` values that must stay
// materialised (graph outputs, values subgraphs read).
std::vector<FusedChain> planElementwiseChains(const Graph& g, int64_t opset, const std::vector<int>& order,
                                              const std::vector<char>& skip, const std::vector<char>& pinned,
                                              const std::function<const Tensor*(int)>& constOf);

// Where the program's vector constants run in an output of a given shape.
struct FusedLayout {
    int64_t inner = 0;  // elements per step along the constants' axis (0: scalars only)
    int64_t length = 1;  // the axis length
    std::vector<char> isVector;  // per constant
};
// False when the program does not apply to an f32 output of `shape` (a constant would broadcast it).
bool fusedLayout(const FusedChain& chain, const Shape& shape, FusedLayout& layout);
// Runs the program in place over the flat range [begin, end) of an output laid out as `layout`
// says, single-threaded: for kernels that apply it to a tile while the tile is still in cache.
void runFusedRange(const FusedChain& chain, const FusedLayout& layout, float* data, int64_t begin, int64_t end);

// Runs the program over `t` (the head's output) in place, copying it first when its storage is
// shared. False, with `t` untouched, when the program does not apply to this tensor (not f32, or a
// constant would broadcast it to another shape): the caller then runs the original nodes.
bool applyFusedChain(const FusedChain& chain, Tensor& t, ThreadPool* pool);

}  // namespace by
