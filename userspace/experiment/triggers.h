// Rollback triggers (chaos.yaml `rollback_triggers:`): conditions over kernel-observed and engine
// metrics, evaluated once per tick by `run` and `experiment`. A trigger holds when its metric,
// taken over its last window_ticks ticks, compares true against its value on for_ticks
// consecutive ticks. Kernel metrics come from the ticks' REST requests (TickStats); an
// "engine:<name>" metric is the increase of the engine's counter <name> (summed over its series)
// across the window (from the end of the tick before it). A trigger is judged once its window is
// full; a metric without data (no requests, no answered request, engine not scraped) does not
// hold.
#pragma once

#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "experiment/request_meter.h"

namespace mmchaos {

struct TriggerTick {
  TickStats kernel;
  std::map<std::string, double> engine;  // counter sums at the tick's end, by metric name
};

class TriggerEvaluator {
 public:
  explicit TriggerEvaluator(std::vector<RollbackTrigger> triggers);

  // Engine metric names the triggers read (what to scrape); empty: no scrape needed.
  std::vector<std::string> EngineMetrics() const;
  // Adds a tick; returns the name of the first trigger that now holds.
  std::optional<std::string> Observe(TriggerTick t);
  // A trigger's metric over its window as of the last tick; nullopt without data.
  std::optional<double> Value(const RollbackTrigger& t) const;
  // Forgets the history (after a rollback).
  void Reset();

 private:
  std::vector<RollbackTrigger> triggers_;
  std::vector<int> held_;  // consecutive ticks each trigger has held
  std::deque<TriggerTick> history_;
  size_t keep_ = 1;
};

}  // namespace mmchaos
