#pragma once
// The checks shared by the fuzz targets of formats that have both an importer and an exporter.
// A failed check aborts, which the fuzz driver (or libFuzzer) reports as a crash.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "engine/graph.h"
#include "engine/mapped_file.h"
#include "importers/importer.h"

namespace by::fuzz {

[[noreturn]] inline void fail(const std::string& what) {
    std::fprintf(stderr, "fuzz check failed: %s\n", what.c_str());
    std::abort();
}

inline void checkRoundTrip(const Importer& importer, const Exporter& exporter, const std::string& path, const char* ext) {
    const std::string base = path.substr(path.find_last_of('/') + 1);
    auto m = importer.load(path, {});
    if (!m) {
        const Error& e = m.error();
        if (e.message.empty()) fail("an error without a message");
        if (e.what().find(base) == std::string::npos) fail("an error that does not name the file: " + e.what());
        return;
    }
    (void)summarize(*m);
    for (const auto& v : m->graph.values) {
        if (!v.data || v.data->numel() > (int64_t(1) << 22)) continue;
        auto f = v.data->toFloats();
        if (!f && f.error().code != ErrorCode::Unsupported) fail("decoding '" + v.name + "': " + f.error().what());
    }
    const std::string once = path + ".once" + ext, twice = path + ".twice" + ext;
    auto st = exporter.save(*m, once);
    if (!st) fail("exporting an imported file: " + st.error().what());
    auto m2 = importer.load(once, {});
    if (!m2) fail("importing an exported file: " + m2.error().what());
    st = exporter.save(*m2, twice);
    if (!st) fail("re-exporting: " + st.error().what());
    auto a = readWholeFile(once), b = readWholeFile(twice);
    if (!a || !b || *a != *b) fail("re-export is not byte-identical");
    std::remove(once.c_str());
    std::remove(twice.c_str());
}

}  // namespace by::fuzz
