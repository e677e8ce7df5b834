// Fuzzes the TFLite importer through the registry, then touches what it accepted: the first and
// last byte of every constant and custom-options window (the windows point into the mapped file,
// so a range check that let one through shows up here) and the graph checks.
#include "importers/importer_registry.h"
#include "tests/fuzz/fuzz_support.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {
volatile uint8_t g_sink = 0;
std::string g_inputPath; // one scratch file per process, removed at exit

void touch(const by::Tensor& t) {
    if (t.nbytes() == 0 || !t.rawData()) return;
    g_sink = g_sink ^ t.rawData()[0] ^ t.rawData()[t.nbytes() - 1];
}

void touchGraph(const by::Graph& g) {
    for (const auto& v : g.values)
        if (v.data) touch(*v.data);
    for (const auto& n : g.nodes)
        for (const auto& [key, a] : n.attributes) {
            if (a.kind == by::Attribute::Kind::Tensor) touch(a.t);
            if (a.g) touchGraph(*a.g);
        }
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string path = by::fuzz::writeInput(data, size, ".tflite");
    if (g_inputPath.empty()) {
        g_inputPath = path;
        std::atexit([] { std::remove(g_inputPath.c_str()); });
    }
    auto m = by::loadModel(path);
    if (!m) {
        if (m.error().what().empty()) __builtin_trap(); // every failure must say something
        return 0;
    }
    touchGraph(m->graph);
    if (!m->graph.validate().ok()) __builtin_trap(); // the importer validated it already
    (void)by::summarize(*m);
    return 0;
}
