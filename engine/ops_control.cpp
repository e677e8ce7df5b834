// Control flow: If runs one branch, Loop runs its body until the trip count or the condition ends
// it. Bodies see outer-scope values through the executor (KernelContext::runSubgraph).
#include "engine/ops_common.h"

namespace by {

namespace {
using namespace ops;

const Graph* graphAttr(const Node& n, const char* key) {
    const Attribute* a = n.attr(key);
    return a && a->kind == Attribute::Kind::Graph ? a->g.get() : nullptr;
}

Result<bool> truth(const Tensor& t, const char* what) {
    if (t.numel() != 1) return invalid(std::string(what) + " must hold exactly one value, not " + shapeToString(t.shape()));
    auto v = readDoubles(t, what);
    if (!v) return v.error();
    return (*v)[0] != 0.0;
}

Status ifOp(KernelContext& ctx) {
    auto c = truth(ctx.in(0), "the condition");
    if (!c) return c.error();
    const Graph* branch = graphAttr(ctx.node, *c ? "then_branch" : "else_branch");
    if (!branch) return invalid(std::string("attribute '") + (*c ? "then_branch" : "else_branch") + "' is missing");
    auto outs = ctx.runSubgraph(*branch, {});
    if (!outs) return outs.error().withContext(*c ? "then_branch" : "else_branch");
    if (outs->size() != ctx.outputs.size())
        return invalid("the branch gives " + std::to_string(outs->size()) + " outputs, the node has " + std::to_string(ctx.outputs.size()));
    for (size_t i = 0; i < outs->size(); ++i) ctx.outputs[i] = std::move((*outs)[i]);
    return {};
}

Result<Tensor> stack(const std::vector<Tensor>& items, const Value& declared) {
    if (items.empty()) {
        Shape s = {0};
        if (declared.shape)
            for (size_t d = 1; d < declared.shape->size(); ++d) s.push_back(std::max<int64_t>((*declared.shape)[d].value, 0));
        return allocate(declared.dtype == DType::Undefined ? DType::F32 : declared.dtype, s);
    }
    const Tensor& first = items[0];
    const size_t es = elementSize(first.dtype());
    if (es == 0) return unsupported(std::string("scan outputs of type ") + dtypeName(first.dtype()) + " are not supported");
    Shape s = first.shape();
    s.insert(s.begin(), static_cast<int64_t>(items.size()));
    auto out = allocate(first.dtype(), s);
    if (!out) return out.error();
    uint8_t* dst = out->mutableRawData();
    for (size_t i = 0; i < items.size(); ++i) {
        if (items[i].shape() != first.shape() || items[i].dtype() != first.dtype())
            return invalid("scan output changes shape between iterations: " + shapeToString(first.shape()) + " then " +
                           shapeToString(items[i].shape()));
        std::memcpy(dst + i * first.nbytes(), items[i].rawData(), first.nbytes());
    }
    return out;
}

Status loopOp(KernelContext& ctx) {
    const Graph* body = graphAttr(ctx.node, "body");
    if (!body) return invalid("attribute 'body' is missing");
    int64_t maxTrips = -1;
    if (ctx.has(0)) {
        auto m = readInts(ctx.in(0), "M");
        if (!m) return m.error();
        if (m->size() != 1) return invalid("M must hold one value");
        maxTrips = (*m)[0];
    }
    bool cond = true;
    const bool hasCond = ctx.has(1);
    if (hasCond) {
        auto c = truth(ctx.in(1), "cond");
        if (!c) return c.error();
        cond = *c;
    }
    const size_t nCarried = ctx.inputCount() > 2 ? ctx.inputCount() - 2 : 0;
    std::vector<Tensor> carried;
    for (size_t i = 0; i < nCarried; ++i) {
        if (!ctx.has(2 + i)) return invalid("loop-carried input " + std::to_string(i) + " is missing");
        carried.push_back(ctx.in(2 + i));
    }
    const size_t nBodyOut = body->outputs.size();
    if (nBodyOut < 1 + nCarried) return invalid("the body has too few outputs for its loop-carried values");
    const size_t nScan = nBodyOut - 1 - nCarried;
    if (ctx.outputs.size() > nCarried + nScan) return invalid("the node has more outputs than the body gives");
    std::vector<std::vector<Tensor>> scans(nScan);
    int64_t i = 0;
    for (; (maxTrips < 0 || i < maxTrips) && (!hasCond || cond); ++i) {
        std::vector<Tensor> args;
        args.push_back(Tensor::fromInt64s({}, {i}));
        std::vector<uint8_t> cb{static_cast<uint8_t>(cond)};
        args.push_back(*Tensor::fromBytes(DType::Bool, {}, cb));
        for (auto& t : carried) args.push_back(t);
        auto outs = ctx.runSubgraph(*body, std::move(args));
        if (!outs) return outs.error().withContext("loop iteration " + std::to_string(i));
        auto c = truth((*outs)[0], "the body's condition output");
        if (!c) return c.error();
        cond = *c;
        for (size_t k = 0; k < nCarried; ++k) carried[k] = std::move((*outs)[1 + k]);
        for (size_t k = 0; k < nScan; ++k) scans[k].push_back(std::move((*outs)[1 + nCarried + k]));
        if (maxTrips < 0 && !hasCond && i > (int64_t(1) << 40)) return invalid("the loop has no end");
    }
    for (size_t k = 0; k < nCarried && k < ctx.outputs.size(); ++k) ctx.outputs[k] = std::move(carried[k]);
    for (size_t k = 0; k < nScan && nCarried + k < ctx.outputs.size(); ++k) {
        const Value& decl = body->values[static_cast<size_t>(body->outputs[1 + nCarried + k])];
        auto s = stack(scans[k], decl);
        if (!s) return s.error();
        ctx.outputs[nCarried + k] = std::move(*s);
    }
    return {};
}

}  // namespace

void registerControlOps(OpRegistry& r) {
    r.add("", "If", ifOp);
    r.add("", "Loop", loopOp, [](const Node& n, const Graph&, int64_t) -> Status {
        if (n.inputs.size() < 2 || (n.inputs[0] < 0 && n.inputs[1] < 0))
            return unsupported("a Loop with neither trip count nor condition never ends");
        return {};
    });
}

}  // namespace by
