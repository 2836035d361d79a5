#include "stats_json.h"

namespace refengine {

nlohmann::json stats_document(const Metrics& metrics, const EngineOptions& opts,
                              double duration_s) {
  nlohmann::json doc = metrics.summary();
  doc["duration_s"] = duration_s;
  doc["config"] = {{"rest_url", opts.rest_url},
                   {"ws_url", opts.ws_url},
                   {"tick_ms", opts.tick_ms},
                   {"deadline_ms", opts.deadline_ms},
                   {"max_open", opts.max_open},
                   {"reconcile_every_ticks", opts.reconcile_every_ticks},
                   {"resolve_every_sec", opts.resolve_every_sec}};
  return doc;
}

}  // namespace refengine
