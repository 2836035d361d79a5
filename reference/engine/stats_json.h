// The --stats-json summary written when the engine exits.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "metrics.h"
#include "options.h"

namespace refengine {

nlohmann::json stats_document(const Metrics& metrics, const EngineOptions& opts, double duration_s);

}  // namespace refengine
