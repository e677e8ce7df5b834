#!/usr/bin/env bash
# Fails when a library includes something its layer may not use (see ARCHITECTURE.md):
#  - engine/, importers/, projects/, renderers/ must not include Qt or Dear ImGui;
#  - views/ must not include Qt;
#  - only renderers/, views/ and app/ may include Vulkan;
#  - engine/ must not include any other Brickyard layer.
set -uo pipefail
cd "$(dirname "$0")/.."
fail=0
check() {  # check DIRS PATTERN WHAT
  local dirs="$1" pattern="$2" what="$3" hits
  hits=$(grep -rnE "$pattern" $dirs --include='*.h' --include='*.cpp' --include='*.hpp' 2>/dev/null || true)
  if [[ -n "$hits" ]]; then
    echo "layering violation: $what"
    echo "$hits"
    fail=1
  fi
}
check "engine importers projects renderers views" '#include[[:space:]]*[<"](Q[A-Za-z]+|Qt[A-Za-z]*/)' "Qt is only for app/"
check "engine importers projects renderers" '#include[[:space:]]*[<"](imgui|backends/imgui)' "Dear ImGui is only for views/ and app/"
check "engine importers projects tests/engine tests/importers tests/projects" '#include[[:space:]]*[<"]vulkan/' "Vulkan is only for renderers/, views/ and app/"
check "engine" '#include[[:space:]]*"(importers|projects|views|renderers|app)/' "engine/ must not depend on other layers"
check "importers projects" '#include[[:space:]]*"(views|renderers|app)/' "importers/ and projects/ sit below views/renderers/app"
check "views renderers" '#include[[:space:]]*"(app|projects)/' "views/ and renderers/ must not reach app/ or projects/"
if [[ $fail -eq 0 ]]; then echo "layering: ok"; fi
exit $fail
