// The ONNX operator conformance suite from Debian's libonnx-testdata, run through the importer and
// the CPU executor. Every case whose operators the executor plans must pass; the pass count may
// not fall below the floor. BY_WRITE_CONFORMANCE=path writes the per-operator table
// (docs/op_conformance.md); BY_CONFORMANCE_FILTER=text runs only cases whose name contains it.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "engine/executor.h"
#include "engine/op_registry.h"
#include "importers/importer_registry.h"
#include "importers/onnx_tensor_file.h"

namespace fs = std::filesystem;

namespace {

constexpr const char* kSuiteRoot = "/usr/share/libonnx-testdata/data";
// The operator cases, then whole small networks and single modules exported from PyTorch.
constexpr const char* kSuites[] = {"node", "pytorch-converted", "pytorch-operator"};
// Cases whose stored data contradict their own model (ONNX 1.12): they are reported, not run.
const std::map<std::string, std::string> kSuiteErrata = {
    {"test_castlike_BFLOAT16_to_FLOAT", "input_1.pb has shape [1], the model declares 'like' as [3,4]"},
    {"test_castlike_BFLOAT16_to_FLOAT_expanded", "input_1.pb has shape [1], the model declares 'like' as [3,4]"},
    {"test_castlike_FLOAT_to_BFLOAT16", "input_1.pb has shape [1], the model declares 'like' as [3,4]"},
    {"test_castlike_FLOAT_to_BFLOAT16_expanded", "input_1.pb has shape [1], the model declares 'like' as [3,4]"},
};
// Raise this when more cases pass; a drop below it is a regression.
constexpr int kPassFloor = 717;
constexpr int kPytorchPassFloor = 117;

void collectOps(const by::Graph& g, std::set<std::string>& ops) {
    for (const auto& n : g.nodes) {
        ops.insert(n.domain.empty() || n.domain == "ai.onnx" ? n.opType : n.domain + "." + n.opType);
        for (const auto& [k, a] : n.attributes) {
            if (a.g) collectOps(*a.g, ops);
            for (const auto& s : a.graphs)
                if (s) collectOps(*s, ops);
        }
    }
}

// The suite stores bfloat16 tensors as uint16 (numpy has no bfloat16): same bits.
by::Result<by::Tensor> asBf16(const by::Tensor& t) {
    return by::Tensor::fromBytes(by::DType::BF16, t.shape(), std::vector<uint8_t>(t.bytes().begin(), t.bytes().end()));
}

// Empty when equal within rtol 1e-3 / atol 1e-4 (exact for integers and bools).
std::string compare(const by::Tensor& got, const by::Tensor& want) {
    if (got.dtype() != want.dtype())
        return std::string("dtype ") + by::dtypeName(got.dtype()) + ", expected " + by::dtypeName(want.dtype());
    if (got.shape() != want.shape())
        return "shape " + by::shapeToString(got.shape()) + ", expected " + by::shapeToString(want.shape());
    if (want.dtype() == by::DType::String) return got.strings() == want.strings() ? "" : "strings differ";
    const auto& info = by::dtypeInfo(want.dtype());
    if (!info.isFloat) return got.sameContent(want) ? "" : "integer values differ";
    auto g = got.toFloats();
    auto w = want.toFloats();
    if (!g || !w) return "cannot read values";
    std::vector<double> gd, wd;
    if (want.dtype() == by::DType::F64) {
        gd.assign(got.data<double>(), got.data<double>() + got.numel());
        wd.assign(want.data<double>(), want.data<double>() + want.numel());
    } else {
        gd.assign(g->begin(), g->end());
        wd.assign(w->begin(), w->end());
    }
    for (size_t i = 0; i < wd.size(); ++i) {
        const double a = gd[i], b = wd[i];
        if (std::isnan(a) && std::isnan(b)) continue;
        if (std::isinf(b) && a == b) continue;
        // bfloat16 keeps 8 significant bits: its results may differ in the last one (rounding vs truncation).
        const double rtol = want.dtype() == by::DType::BF16 ? 1e-2 : 1e-3;
        if (!(std::abs(a - b) <= 1e-4 + rtol * std::abs(b))) {
            std::ostringstream os;
            os << "element " << i << " is " << a << ", expected " << b;
            return os.str();
        }
    }
    return "";
}

struct CaseResult {
    std::string name;
    std::set<std::string> ops;
    enum Kind { Passed, Failed, Unsupported, NotLoadable } kind = Failed;
    std::string detail;
};

CaseResult runCase(const fs::path& dir) {
    CaseResult r;
    r.name = dir.filename().string();
    if (auto it = kSuiteErrata.find(r.name); it != kSuiteErrata.end()) {
        r.kind = CaseResult::NotLoadable;
        r.detail = "suite data error: " + it->second;
        if (auto m = by::loadModel((dir / "model.onnx").string()); m) collectOps(m->graph, r.ops);
        return r;
    }
    auto model = by::loadModel((dir / "model.onnx").string());
    if (!model) {
        r.kind = CaseResult::NotLoadable;
        r.detail = model.error().what();
        return r;
    }
    collectOps(model->graph, r.ops);
    auto exec = by::Executor::create(*model);
    if (!exec) {
        r.kind = exec.error().code == by::ErrorCode::Unsupported ? CaseResult::Unsupported : CaseResult::Failed;
        r.detail = exec.error().what();
        return r;
    }
    const fs::path data = dir / "test_data_set_0";
    std::map<std::string, by::Tensor> inputs;
    const auto& ins = exec->inputs();
    for (size_t i = 0; i < ins.size(); ++i) {
        const fs::path p = data / ("input_" + std::to_string(i) + ".pb");
        if (!fs::exists(p)) {
            r.detail = "missing " + p.filename().string();
            return r;
        }
        auto t = by::readOnnxTensorFile(p.string());
        if (!t && ins[i].dtype == by::DType::Undefined) {
            // Sequence and optional inputs have no tensor type: the file holds another message.
            r.kind = CaseResult::Unsupported;
            r.detail = "input '" + ins[i].name + "' is not a tensor";
            return r;
        }
        if (t && ins[i].dtype == by::DType::BF16 && t->dtype() == by::DType::U16) t = asBf16(*t);
        if (!t) {
            r.kind = t.error().code == by::ErrorCode::Unsupported ? CaseResult::Unsupported : CaseResult::Failed;
            r.detail = t.error().what();
            return r;
        }
        inputs[ins[i].name] = std::move(*t);
    }
    auto outs = exec->run(inputs);
    if (!outs) {
        r.detail = outs.error().what();
        return r;
    }
    for (size_t i = 0; i < outs->size(); ++i) {
        auto want = by::readOnnxTensorFile((data / ("output_" + std::to_string(i) + ".pb")).string());
        if (!want) {
            r.detail = want.error().what();
            return r;
        }
        if ((*outs)[i].dtype() == by::DType::BF16 && want->dtype() == by::DType::U16) want = asBf16(*want);
        const std::string diff = compare((*outs)[i], *want);
        if (!diff.empty()) {
            r.detail = "output " + std::to_string(i) + " ('" + exec->outputs()[i].name + "'): " + diff;
            return r;
        }
    }
    r.kind = CaseResult::Passed;
    return r;
}

struct SuiteSummary {
    std::string name;
    size_t cases = 0;
    int passed = 0;
};

void writeTable(const std::string& path, const std::vector<CaseResult>& results, const std::vector<SuiteSummary>& suites) {
    struct Row {
        int cases = 0, run = 0, passed = 0;
    };
    std::map<std::string, Row> rows;
    int run = 0, passed = 0, unsupported = 0, unloadable = 0;
    for (const auto& r : results) {
        const bool ran = r.kind == CaseResult::Passed || r.kind == CaseResult::Failed;
        run += ran;
        passed += r.kind == CaseResult::Passed;
        unsupported += r.kind == CaseResult::Unsupported;
        unloadable += r.kind == CaseResult::NotLoadable;
        for (const auto& op : r.ops) {
            auto& row = rows[op];
            ++row.cases;
            row.run += ran;
            row.passed += r.kind == CaseResult::Passed;
        }
    }
    std::ofstream f(path);
    f << "# ONNX operator conformance of the CPU executor\n\n"
      << "Generated by `tests/importers/onnx_conformance_test.cpp` (set `BY_WRITE_CONFORMANCE=docs/op_conformance.md`)\n"
      << "from the node, pytorch-converted and pytorch-operator suites of Debian's `libonnx-testdata`\n"
      << "(" << kSuiteRoot << ", ONNX 1.12).\n"
      << "A case counts under every operator its graph uses. \"Run\" cases are those the executor planned\n"
      << "(all operators, attributes and declared input types supported); outputs are compared with\n"
      << "rtol 1e-3 / atol 1e-4, integers and bools exactly.\n\n"
      << "Cases: " << results.size() << ", run: " << run << ", passed: " << passed << ", not supported: " << unsupported
      << ", not loadable or suite errata: " << unloadable << ".\n\n";
    for (const auto& su : suites) f << "- `" << su.name << "`: " << su.cases << " cases, " << su.passed << " passed\n";
    f << "\n"
      << "| op | cases | run | passed |\n|---|---:|---:|---:|\n";
    for (const auto& [op, row] : rows) f << "| " << op << " | " << row.cases << " | " << row.run << " | " << row.passed << " |\n";
    f << "\n## Cases not run\n\n| case | reason |\n|---|---|\n";
    for (const auto& r : results)
        if (r.kind == CaseResult::Unsupported || r.kind == CaseResult::NotLoadable) {
            std::string d = r.detail;
            std::replace(d.begin(), d.end(), '|', '/');
            f << "| " << r.name << " | " << d << " |\n";
        }
}

}  // namespace

TEST(OnnxConformance, NodeAndPytorchSuites) {
    const char* filter = std::getenv("BY_CONFORMANCE_FILTER");
    std::vector<CaseResult> results;
    std::vector<SuiteSummary> suites;
    std::vector<std::string> failures;
    int nodePassed = 0;
    for (const char* suite : kSuites) {
        const fs::path root = fs::path(kSuiteRoot) / suite;
        ASSERT_TRUE(fs::is_directory(root)) << root << " is missing: apt-get install libonnx-testdata";
        std::vector<fs::path> dirs;
        for (const auto& e : fs::directory_iterator(root))
            if (e.is_directory() && (!filter || e.path().filename().string().find(filter) != std::string::npos))
                dirs.push_back(e.path());
        std::sort(dirs.begin(), dirs.end());
        SuiteSummary sum{suite, dirs.size(), 0};
        for (const auto& d : dirs) {
            results.push_back(runCase(d));
            auto& r = results.back();
            if (std::string(suite) != "node") r.name = std::string(suite) + "/" + r.name;
            if (r.kind == CaseResult::Passed) ++sum.passed;
            if (r.kind == CaseResult::Failed) failures.push_back(r.name + ": " + r.detail);
        }
        if (std::string(suite) == "node") nodePassed = sum.passed;
        std::printf("conformance %s: %zu cases, %d passed\n", suite, sum.cases, sum.passed);
        suites.push_back(sum);
    }
    if (const char* out = std::getenv("BY_WRITE_CONFORMANCE"); out && *out) writeTable(out, results, suites);
    std::string list;
    for (const auto& f : failures) list += "  " + f + "\n";
    EXPECT_TRUE(failures.empty()) << failures.size() << " supported case(s) failed:\n" << list;
    if (!filter) {
        EXPECT_GE(nodePassed, kPassFloor) << "fewer node conformance cases pass than before";
        EXPECT_GE(suites[1].passed + suites[2].passed, kPytorchPassFloor) << "fewer PyTorch cases pass than before";
    }
}
