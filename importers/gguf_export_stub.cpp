// Placeholder until the gguf_export format lands; replaced by its own file.
#include "importers/importer.h"
namespace by {
std::unique_ptr<Exporter> makeGgufExporter() { return nullptr; }
}  // namespace by
