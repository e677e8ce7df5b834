// Placeholder until the gguf format lands; replaced by its own file.
#include "importers/importer.h"
namespace by {
std::unique_ptr<Importer> makeGgufImporter() { return nullptr; }
}  // namespace by
