#include "experiment/trigger_watch.h"

#include <cstdio>

#include "common/log.h"
#include "config/config.h"
#include "experiment/engine_metrics.h"
#include "loader/dataplane.h"

namespace mmchaos {

std::map<std::string, double> EngineCounters(const Config& cfg, const std::string& netns,
                                             const std::vector<std::string>& names) {
  std::map<std::string, double> out;
  if (names.empty() || cfg.target.metrics_url.empty()) return out;
  auto samples = ScrapeEngine(cfg.target.metrics_url, netns, 500);
  if (!samples) {
    LogWarning(samples.error().message());
    return out;
  }
  for (const auto& n : names) out[n] = SumSamples(*samples, n);
  return out;
}

Result<void> TriggerWatch::OnStart(Session& s) {
  auto m = RequestMeter::Open(s.plane().requests_fd());
  if (!m) return std::unexpected(m.error());
  meter_ = std::move(*m);
  triggers_ = s.config().rollback_triggers;
  eval_ = std::make_unique<TriggerEvaluator>(triggers_);
  if (!eval_->EngineMetrics().empty() && s.config().target.metrics_url.empty())
    LogWarning(
        "rollback_triggers read engine metrics but target.metrics_url is empty: those triggers "
        "never hold");
  tick_ns_ = static_cast<uint64_t>(s.config().target.tick_ms) * 1000000ULL;
  return {};
}

bool TriggerWatch::OnTick(Session& s, uint64_t now_ns) {
  if (s.config().rollback_triggers != triggers_) {  // SIGHUP changed them: start over
    triggers_ = s.config().rollback_triggers;
    eval_ = std::make_unique<TriggerEvaluator>(triggers_);
  }
  tick_ns_ = static_cast<uint64_t>(s.config().target.tick_ms) * 1000000ULL;
  meter_->Drain();
  meter_->Add(s.TakeTlsRequests());  // the TLS preloads' requests
  if (triggers_.empty()) {
    meter_->Discard(now_ns);  // nothing to judge (and the kernel sends no events)
    next_end_ = 0;
    return true;
  }
  if (next_end_ == 0) next_end_ = now_ns + tick_ns_;
  const uint64_t deadline_ns = static_cast<uint64_t>(s.config().target.deadline_ms) * 1000000ULL;
  while (now_ns >= next_end_) {
    TriggerTick t;
    t.kernel = meter_->Take(next_end_, deadline_ns);
    next_end_ += tick_ns_;
    if (!s.attached()) {
      eval_->Reset();
      continue;
    }
    t.engine = EngineCounters(s.config(), s.netns(), eval_->EngineMetrics());
    if (auto fired = eval_->Observe(std::move(t))) {
      s.Rollback(*fired);
      eval_->Reset();
    }
  }
  return true;
}

}  // namespace mmchaos
