#include "importers/importer_registry.h"

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "engine/mapped_file.h"

namespace by {

namespace {
std::string lowerExtension(const std::string& path) {
    std::string ext = std::filesystem::path(path).extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
    return ext;
}
std::string fileName(const std::string& path) { return std::filesystem::path(path).filename().string(); }
}  // namespace

const ImporterRegistry& ImporterRegistry::instance() {
    static const ImporterRegistry reg;
    return reg;
}

ImporterRegistry::ImporterRegistry() {
    for (auto* make : {makeGgufImporter, makeSafetensorsImporter, makeTfliteImporter, makeOnnxImporter})
        if (auto imp = make()) m_importers.push_back(std::move(imp));
    for (auto* make : {makeOnnxExporter, makeSafetensorsExporter, makeGgufExporter})
        if (auto ex = make()) m_exporters.push_back(std::move(ex));
}

Result<const Importer*> ImporterRegistry::detect(const std::string& path) const {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec))
        return makeError(ErrorCode::Io, "no such file", path);
    if (std::filesystem::is_directory(path, ec))
        return makeError(ErrorCode::Io, "is a directory, not a model file", path);
    auto head = readFileHead(path, 64 * 1024);
    if (!head) return head.error();
    if (head->empty()) return makeError(ErrorCode::Format, "the file is empty", path);
    const Importer* best = nullptr;
    int bestScore = 0;
    for (const auto& imp : m_importers) {
        const int s = imp->probe(*head, path);
        if (s > bestScore) {
            bestScore = s;
            best = imp.get();
        }
    }
    if (!best) {
        const std::string ext = lowerExtension(path);
        return makeError(ErrorCode::Unsupported,
                         "not a recognised model format (" + (ext.empty() ? std::string("no extension") : "extension " + ext) +
                             "; known: .onnx, .tflite, .gguf, .safetensors)",
                         path);
    }
    return best;
}

const Importer* ImporterRegistry::importerByName(const std::string& name) const {
    for (const auto& imp : m_importers)
        if (imp->name() == name) return imp.get();
    return nullptr;
}

Result<const Exporter*> ImporterRegistry::exporterFor(const std::string& path) const {
    const std::string ext = lowerExtension(path);
    for (const auto& e : m_exporters)
        for (const auto& x : e->extensions())
            if (x == ext) return e.get();
    return makeError(ErrorCode::Unsupported,
                     "cannot write " + (ext.empty() ? std::string("files without an extension") : ext + " files") +
                         " (writable: .onnx, .safetensors, .gguf)",
                     path);
}

Result<Model> loadModel(const std::string& path, const LoadOptions& opts) {
    auto imp = ImporterRegistry::instance().detect(path);
    if (!imp) return imp.error();
    auto m = (*imp)->load(path, opts);
    if (!m) {
        Error e = m.error();
        // Importers name the file themselves; add it only when they did not.
        if (e.context.find(fileName(path)) == std::string::npos) e.withContext("loading " + fileName(path));
        return e;
    }
    m->sourcePath = path;
    if (m->format.empty()) m->format = (*imp)->name();
    return m;
}

Status saveModel(const Model& model, const std::string& path) {
    auto ex = ImporterRegistry::instance().exporterFor(path);
    if (!ex) return ex.error();
    auto st = (*ex)->save(model, path);
    if (!st) {
        Error e = st.error();
        if (e.context.find(fileName(path)) == std::string::npos) e.withContext("writing " + fileName(path));
        return e;
    }
    return {};
}

}  // namespace by
