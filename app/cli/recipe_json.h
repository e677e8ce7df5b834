#pragma once
// The compression recipe as a file (docs/recipes.md): versioned JSON read into the engine's
// Recipe, the command-line shorthands (--quantize int4:g32, --prune 2:4, --lowrank 0.3), and the
// canonical JSON a project records so every variant can be made again from its recipe.
#include <string>
#include <vector>

#include "engine/compression.h"
#include "engine/error.h"

namespace by::cli {

// Parses recipe JSON text; errors name the step and key ("step 2: unknown key 'sparsty'").
Result<Recipe> parseRecipeJson(const std::string& text);
Result<Recipe> loadRecipeFile(const std::string& path);
// Canonical JSON: every key the step's method reads, nothing else.
std::string recipeToJson(const Recipe& recipe, int indent = -1);

// One step from a shorthand: kind is "quantize", "prune" or "lowrank"; value as on the command line.
Result<CompressStep> parseShorthand(const std::string& kind, const std::string& value);
// A short label for a step ("int8", "int4:g32", "prune 2:4", "lowrank cut 0.3").
std::string stepLabel(const CompressStep& step);

}  // namespace by::cli
