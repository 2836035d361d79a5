// `run`'s rollback-trigger watch: per tick (target.tick_ms) it takes the engine's REST requests
// from the data plane, scrapes the engine when a trigger reads its metrics, and detaches at once
// when a trigger holds (Session::Rollback). While detached it watches nothing; SIGHUP re-attaches
// (and may change the triggers: judging starts over).
#pragma once

#include <memory>

#include "controller/controller.h"
#include "experiment/request_meter.h"
#include "experiment/triggers.h"

namespace mmchaos {

// Engine counters the triggers read, scraped once (empty map when none are needed; on a failed
// scrape the names are missing, so those triggers do not hold).
std::map<std::string, double> EngineCounters(const Config& cfg, const std::string& netns,
                                             const std::vector<std::string>& names);

class TriggerWatch : public LoopHooks {
 public:
  Result<void> OnStart(Session& s) override;
  bool OnTick(Session& s, uint64_t now_ns) override;

 private:
  std::unique_ptr<RequestMeter> meter_;
  std::unique_ptr<TriggerEvaluator> eval_;
  std::vector<RollbackTrigger> triggers_;  // what eval_ judges
  uint64_t tick_ns_ = 0, next_end_ = 0;
};

}  // namespace mmchaos
