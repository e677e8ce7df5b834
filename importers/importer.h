#pragma once
// One interface for every model format. Each format lives in one file pair and is listed in the
// registry (importer_registry.cpp). Importers never throw: bad bytes become an Error naming the
// file, the node or tensor, and the field.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/error.h"
#include "engine/graph.h"
#include "engine/progress.h"

namespace by {

struct LoadOptions {
    const Progress* progress = nullptr;  // may be null
    bool loadExternalData = true;        // ONNX external data files beside the model
};

class Importer {
public:
    virtual ~Importer() = default;
    virtual std::string name() const = 0;                     // "onnx"
    virtual std::vector<std::string> extensions() const = 0;  // {".onnx"}
    // 0 = not this format, 100 = certain. `head` holds up to the first 64 KiB of the file.
    virtual int probe(std::string_view head, const std::string& path) const = 0;
    virtual Result<Model> load(const std::string& path, const LoadOptions& opts) const = 0;
};

class Exporter {
public:
    virtual ~Exporter() = default;
    virtual std::string name() const = 0;
    virtual std::vector<std::string> extensions() const = 0;
    // True when the format stores the operator graph; weight containers (safetensors, GGUF)
    // store tensors and metadata only, so callers tell the user the graph is not written.
    virtual bool storesGraph() const = 0;
    // Writes atomically (temporary file + rename). Fails with Unsupported when the model holds
    // something the format cannot express (a tensor type safetensors cannot name, say).
    virtual Status save(const Model& model, const std::string& path) const = 0;
};

// Factories, one per format file.
std::unique_ptr<Importer> makeOnnxImporter();
std::unique_ptr<Importer> makeTfliteImporter();
std::unique_ptr<Importer> makeSafetensorsImporter();
std::unique_ptr<Importer> makeGgufImporter();
std::unique_ptr<Exporter> makeOnnxExporter();
std::unique_ptr<Exporter> makeSafetensorsExporter();
std::unique_ptr<Exporter> makeGgufExporter();

}  // namespace by
