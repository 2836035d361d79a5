#include "experiment/triggers.h"

#include <algorithm>

#include "report/analysis.h"

namespace mmchaos {

TriggerEvaluator::TriggerEvaluator(std::vector<RollbackTrigger> triggers)
    : triggers_(std::move(triggers)), held_(triggers_.size(), 0) {
  for (const auto& t : triggers_) keep_ = std::max(keep_, static_cast<size_t>(t.window_ticks) + 1);
}

std::vector<std::string> TriggerEvaluator::EngineMetrics() const {
  std::vector<std::string> out;
  for (const auto& t : triggers_)
    if (t.metric.rfind("engine:", 0) == 0) out.push_back(t.metric.substr(7));
  return out;
}

std::optional<double> TriggerEvaluator::Value(const RollbackTrigger& t) const {
  // Judged once the window is full: a run's first ticks say nothing about "3 s without a
  // request".
  const size_t n = static_cast<size_t>(t.window_ticks);
  if (history_.size() < n) return std::nullopt;
  if (t.metric.rfind("engine:", 0) == 0) {
    const std::string name = t.metric.substr(7);
    // The increase over the window: from the end of the tick before it (or its first tick).
    const TriggerTick& last = history_.back();
    const TriggerTick& first =
        history_.size() > n ? history_[history_.size() - n - 1] : history_.front();
    if (n == 1 && history_.size() == 1) return std::nullopt;  // one point: no increase yet
    auto a = first.engine.find(name), b = last.engine.find(name);
    if (a == first.engine.end() || b == last.engine.end()) return std::nullopt;
    return std::max(0.0, b->second - a->second);  // a restarted engine resets its counters
  }
  TickStats w;
  for (size_t i = history_.size() - n; i < history_.size(); ++i) w.Add(history_[i].kernel);
  if (t.metric == "requests") return static_cast<double>(w.requests);
  if (t.metric == "deadline_miss_pct" || t.metric == "fail_pct") {
    if (w.requests == 0) return std::nullopt;
    int64_t k = t.metric == "fail_pct" ? w.failures : w.deadline_misses;
    return 100.0 * static_cast<double>(k) / static_cast<double>(w.requests);
  }
  if (t.metric == "p95_ms") return Percentile(w.latency_ms, 95);
  if (t.metric == "p99_ms") return Percentile(w.latency_ms, 99);
  return std::nullopt;
}

std::optional<std::string> TriggerEvaluator::Observe(TriggerTick t) {
  history_.push_back(std::move(t));
  while (history_.size() > keep_) history_.pop_front();
  std::optional<std::string> fired;
  for (size_t i = 0; i < triggers_.size(); ++i) {
    const RollbackTrigger& tr = triggers_[i];
    auto v = Value(tr);
    bool holds = v && ((tr.op == ">" && *v > tr.value) || (tr.op == ">=" && *v >= tr.value) ||
                       (tr.op == "<" && *v < tr.value) || (tr.op == "<=" && *v <= tr.value));
    held_[i] = holds ? held_[i] + 1 : 0;
    if (!fired && held_[i] >= tr.for_ticks) fired = tr.name;
  }
  return fired;
}

void TriggerEvaluator::Reset() {
  history_.clear();
  std::fill(held_.begin(), held_.end(), 0);
}

}  // namespace mmchaos
