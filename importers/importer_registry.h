#pragma once
// The one place that knows every format: picks an importer by magic bytes first, then extension.
#include <memory>
#include <string>
#include <vector>

#include "importers/importer.h"

namespace by {

class ImporterRegistry {
public:
    static const ImporterRegistry& instance();

    const std::vector<std::unique_ptr<Importer>>& importers() const { return m_importers; }
    const std::vector<std::unique_ptr<Exporter>>& exporters() const { return m_exporters; }

    // The best importer for a file, or an error saying the format was not recognised.
    Result<const Importer*> detect(const std::string& path) const;
    const Importer* importerByName(const std::string& name) const;
    // Exporter chosen by the output path's extension.
    Result<const Exporter*> exporterFor(const std::string& path) const;

private:
    ImporterRegistry();
    std::vector<std::unique_ptr<Importer>> m_importers;
    std::vector<std::unique_ptr<Exporter>> m_exporters;
};

// detect + load, with "loading <file>" context on any error.
Result<Model> loadModel(const std::string& path, const LoadOptions& opts = {});
Status saveModel(const Model& model, const std::string& path);

}  // namespace by
