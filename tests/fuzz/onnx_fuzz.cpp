// Fuzzes the ONNX importer through the registry (probe + load), then checks what it accepts:
// tensors decode or say why not, and export(import(x)) re-imports and re-exports byte-identically.
#include "importers/importer.h"
#include "importers/importer_registry.h"
#include "tests/fuzz/fuzz_support.h"
#include "tests/fuzz/roundtrip_check.h"

#include <cstdio>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const auto importer = by::makeOnnxImporter();
    static const auto exporter = by::makeOnnxExporter();
    const std::string path = by::fuzz::writeInput(data, size, ".onnx");
    auto m = by::loadModel(path);
    if (!m && m.error().what().find("brickyard-fuzz-") == std::string::npos)
        by::fuzz::fail("an error that does not name the file: " + m.error().what());
    by::fuzz::checkRoundTrip(*importer, *exporter, path, ".onnx");
    std::remove(path.c_str());  // leave nothing behind in /dev/shm
    return 0;
}
