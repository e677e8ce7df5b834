#include "engine/op_registry.h"

namespace by {

namespace {
std::string canonicalDomain(const std::string& d) { return d == "ai.onnx" ? std::string() : d; }
}  // namespace

const OpRegistry& OpRegistry::instance() {
    static const OpRegistry reg = [] {
        OpRegistry r;
        registerElementwiseOps(r);
        registerNnOps(r);
        registerShapeOps(r);
        registerReduceOps(r);
        registerRnnOps(r);
        registerResizeOps(r);
        registerControlOps(r);
        registerQuantOps(r);
        registerTransformerOps(r);
        registerTfliteOps(r);
        registerBinaryCodedOps(r);
        return r;
    }();
    return reg;
}

void OpRegistry::add(const std::string& domain, const std::string& opType, KernelFn run, CheckFn check, PrepareFn prepare) {
    BY_ASSERT(run != nullptr, "a kernel needs a run function");
    m_ops[{canonicalDomain(domain), opType}] = OpKernel{run, check, prepare};
}

const OpKernel* OpRegistry::find(const std::string& domain, const std::string& opType) const {
    auto it = m_ops.find({canonicalDomain(domain), opType});
    return it == m_ops.end() ? nullptr : &it->second;
}

std::vector<std::string> OpRegistry::opTypes(const std::string& domain) const {
    std::vector<std::string> out;
    const std::string d = canonicalDomain(domain);
    for (const auto& [key, k] : m_ops)
        if (key.first == d) out.push_back(key.second);
    return out;
}

}  // namespace by
