// Fuzzes the GGUF importer, then checks what it accepts: every tensor decodes or says why not, and
// export(import(x)) is read back and re-exported to the very same bytes.
#include <string>

#include "importers/importer.h"
#include "tests/fuzz/fuzz_support.h"
#include "tests/fuzz/roundtrip_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const auto importer = by::makeGgufImporter();
    static const auto exporter = by::makeGgufExporter();
    const std::string path = by::fuzz::writeInput(data, size, ".gguf");
    by::fuzz::checkRoundTrip(*importer, *exporter, path, ".gguf");
    return 0;
}
