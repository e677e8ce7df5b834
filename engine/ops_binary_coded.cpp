// com.brickyard BinaryCodedMatMul: Y = X W^T (+ bias) with W [N, K] binary-coded (engine/lut_gemv.h),
// the form the quantize_bcq compression step writes.
//
//   inputs      X [..., K] f32; bits uint8 [planes, ceil(N/32), groups * group_size / 4, 16] (the
//               BinaryCodedMatrix::bits layout); scales f32 [planes, groups, ceil(N/32) * 32] (the
//               alpha layout, padding rows 0); optional bias f32 [N]
//   attributes  K, N, planes, group_size
//
// Few rows (up to kLutRows, token-by-token use) go through the lookup-table product, which reads
// only the packed bits. More rows are one dense GEMM on the weights dequantized at plan time: the
// table path costs about the same per row as a dense dot product, so batches gain nothing from it.
#include <algorithm>
#include <memory>

#include "engine/lut_gemv.h"
#include "engine/ops_common.h"

namespace by {
namespace {
using namespace ops;

constexpr int64_t kLutRows = 8;

struct PreparedBcq {
    BinaryCodedMatrix m;
    std::vector<float> dense;  // [N, K]; empty when the input is known to have few rows
};

// The weights from the node's inputs 1 and 2, checked against its attributes.
Result<BinaryCodedMatrix> readMatrix(const Node& node, const Tensor& bits, const Tensor& scales) {
    BinaryCodedMatrix m;
    m.cols = node.attrInt("K", 0);
    m.rows = node.attrInt("N", 0);
    m.planes = node.attrInt("planes", 0);
    m.groupSize = node.attrInt("group_size", 0);
    const std::string what = "BinaryCodedMatMul '" + node.name + "'";
    if (m.cols <= 0 || m.rows <= 0) return invalid(what + " needs positive K and N attributes");
    if (m.planes < 1 || m.planes > 8) return invalid(what + " takes 1 to 8 planes, not " + std::to_string(m.planes));
    if (m.groupSize <= 0 || m.groupSize % 4)
        return invalid(what + " group_size " + std::to_string(m.groupSize) + " is not a positive multiple of 4");
    const int64_t nBits = m.planes * m.rowBlocks() * m.chunks() * 16;
    const int64_t nScales = m.planes * m.groups() * m.rowBlocks() * 32;
    if (bits.dtype() != DType::U8 || bits.numel() != nBits)
        return invalid(what + " bits must be uint8 with " + std::to_string(nBits) + " bytes, got " + dtypeName(bits.dtype()) + " " +
                       shapeToString(bits.shape()));
    if (scales.dtype() != DType::F32 || scales.numel() != nScales)
        return invalid(what + " scales must be f32 with " + std::to_string(nScales) + " values, got " + dtypeName(scales.dtype()) + " " +
                       shapeToString(scales.shape()));
    m.bits.assign(bits.data<uint8_t>(), bits.data<uint8_t>() + nBits);
    m.alpha.assign(scales.data<float>(), scales.data<float>() + nScales);
    return m;
}

// Rows of X as far as the declared shape tells (-1 when not known).
int64_t declaredRows(const KernelContext& ctx, int64_t K) {
    const int x = ctx.node.inputs.empty() ? -1 : ctx.node.inputs[0];
    if (x < 0 || x >= int(ctx.graph.values.size())) return -1;
    const auto& shape = ctx.graph.values[size_t(x)].shape;
    if (!shape || shape->empty()) return -1;
    int64_t rows = 1;
    for (size_t i = 0; i + 1 < shape->size(); ++i) {
        if (!(*shape)[i].known()) return -1;
        rows *= (*shape)[i].value;
    }
    return shape->back().known() && shape->back().value == K ? rows : -1;
}

std::shared_ptr<const void> prepareBcq(const KernelContext& ctx) {
    if (!ctx.has(1) || !ctx.has(2)) return nullptr;  // weights computed at run time: rebuilt per run
    auto m = readMatrix(ctx.node, ctx.in(1), ctx.in(2));
    if (!m) return nullptr;  // run() reports the error
    auto p = std::make_shared<PreparedBcq>();
    p->m = std::move(*m);
    const int64_t rows = declaredRows(ctx, p->m.cols);
    if (rows < 0 || rows > kLutRows) p->dense = p->m.dequantize();
    return p;
}

Status binaryCodedMatMul(KernelContext& ctx) {
    const Tensor& X = ctx.in(0);
    BY_TRY(requireType(X, {DType::F32}, "X"));
    PreparedBcq local;
    const PreparedBcq* w = static_cast<const PreparedBcq*>(ctx.prepared);
    if (!w) {
        auto m = readMatrix(ctx.node, ctx.in(1), ctx.in(2));
        if (!m) return m.error();
        local.m = std::move(*m);
        w = &local;
    }
    const int64_t K = w->m.cols, N = w->m.rows;
    if (X.rank() < 1 || X.shape().back() != K)
        return invalid("BinaryCodedMatMul '" + ctx.node.name + "' X " + shapeToString(X.shape()) + " does not end in K = " + std::to_string(K));
    const float* bias = nullptr;
    if (ctx.has(3)) {
        const Tensor& b = ctx.in(3);
        if (b.dtype() != DType::F32 || b.numel() != N) return invalid("BinaryCodedMatMul '" + ctx.node.name + "' bias must be f32 [N]");
        bias = b.data<float>();
    }
    Shape outShape = X.shape();
    outShape.back() = N;
    auto out = allocateUninit(DType::F32, outShape);
    if (!out) return out.error();
    const int64_t M = X.numel() / K;
    const float* x = X.data<float>();
    float* y = out->mutableData<float>();
    if (M <= kLutRows) {
        for (int64_t r = 0; r < M; ++r) lutGemv(w->m, x + r * K, y + r * N, ctx.pool);
    } else {
        // The prepared dense copy, or (rows known to be few at plan time, weights not constant)
        // one made now.
        std::vector<float> now;
        const float* dense = w->dense.data();
        if (w->dense.empty()) {
            now = w->m.dequantize();
            dense = now.data();
        }
        sgemm(false, true, M, N, K, 1.f, x, K, dense, K, 0.f, y, N, ctx.pool);
    }
    if (bias)
        for (int64_t r = 0; r < M; ++r)
            for (int64_t n = 0; n < N; ++n) y[r * N + n] += bias[n];
    ctx.outputs[0] = std::move(*out);
    return {};
}

}  // namespace

void registerBinaryCodedOps(OpRegistry& r) {
    r.add("com.brickyard", "BinaryCodedMatMul", binaryCodedMatMul,
          [](const Node& n, const Graph& g, int64_t) -> Status { return requireDeclared(n, g, 0, {DType::F32}); }, prepareBcq);
}

}  // namespace by
