// Percentiles, recovery, verdicts, severities and recommendations (definitions in analysis.h).
#include "report/analysis.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <map>

namespace mmchaos {
namespace {

double Tolerance(double b) { return 1e-9 * std::max(1.0, std::fabs(b)); }
bool AtMost(double a, double b) { return a <= b + Tolerance(b); }
bool Below(double a, double b) { return a < b - Tolerance(b); }

// Nearest rank into sorted samples.
double RankOf(const std::vector<double>& sorted, double p) {
  p = std::clamp(p, 0.0, 100.0);
  double n = static_cast<double>(sorted.size());
  // The small slack keeps e.g. 0.95 * 20 (= 19.000000000000004 in doubles) at rank 19.
  auto rank = static_cast<size_t>(std::ceil(p / 100.0 * n - 1e-9));
  rank = std::clamp<size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

std::string Plural(int64_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

std::string Signed(double v) {
  std::string s = FormatNumber(v, 2, true);
  return s[0] == '-' ? s : "+" + s;
}

std::string Ms(double v) { return FormatNumber(v, 1, false) + " ms"; }

void NoData(CriterionResult& c, std::string why) {
  c.verdict = Verdict::kFail;
  c.severity = Severity::kMedium;
  c.observed = "no data";
  c.observed_value.reset();
  c.detail = std::move(why);
}

CriterionResult P95Criterion(const Evaluation& e, const Acceptance& a) {
  CriterionResult c;
  c.criterion = "p95_regression";
  c.threshold_value = a.p95_regression_max * 100;
  c.threshold = "<= " + Signed(c.threshold_value) + "%";
  if (!e.baseline.p95) {
    NoData(c, "no latency samples in the baseline phase");
  } else if (!e.chaos.p95) {
    NoData(c, "no latency samples in the chaos phase");
  } else if (*e.baseline.p95 <= 0) {
    NoData(c, "baseline p95 is 0 ms, so a regression cannot be expressed");
  } else {
    double base = *e.baseline.p95, chaos = *e.chaos.p95;
    double reg = (chaos / base - 1) * 100;
    c.observed_value = reg;
    c.observed = Signed(reg) + "%";
    c.verdict = AtMost(chaos, *e.recovery_bound_ms) ? Verdict::kPass : Verdict::kFail;
    c.severity = AtMost(reg, 2 * c.threshold_value) ? Severity::kMedium : Severity::kHigh;
    c.detail = "p95 " + Ms(base) + " in baseline -> " + Ms(chaos) + " in chaos";
  }
  return c;
}

CriterionResult DeadlineCriterion(const Evaluation& e, const Acceptance& a) {
  CriterionResult c;
  c.criterion = "deadline_miss";
  c.threshold_value = a.deadline_miss_max * 100;
  c.threshold = "< " + FormatNumber(c.threshold_value, 2, true) + "%";
  if (!e.chaos.miss_rate) {
    NoData(c, "no requests in the chaos phase");
    return c;
  }
  double rate = *e.chaos.miss_rate;
  c.observed_value = rate * 100;
  c.observed = FormatNumber(rate * 100, 2, true) + "%";
  c.verdict = Below(rate, a.deadline_miss_max) ? Verdict::kPass : Verdict::kFail;
  c.severity = AtMost(rate, 2 * a.deadline_miss_max) ? Severity::kMedium : Severity::kHigh;
  c.detail = std::to_string(e.chaos.deadline_misses) + " of " +
             Plural(e.chaos.requests, "request", "requests") + " in chaos missed the deadline";
  return c;
}

CriterionResult RecoveryCriterion(const ExperimentRun& r, const Evaluation& e,
                                  const Acceptance& a) {
  CriterionResult c;
  c.criterion = "recovery";
  c.threshold_value = static_cast<double>(a.recovery_ticks_max);
  c.threshold = "<= " + Plural(a.recovery_ticks_max, "tick", "ticks");
  if (r.bursts.empty()) {
    NoData(c, "the run has no bursts");
    return c;
  }
  if (!e.worst.measured) {
    NoData(c, "no latency samples in the baseline phase, so no recovery bound");
    return c;
  }
  const RunBurst& b = r.bursts[static_cast<size_t>(e.worst.burst)];
  if (!e.worst.recovered) {
    c.verdict = Verdict::kFail;
    c.severity = Severity::kHigh;
    c.observed = "not recovered";
    bool last = static_cast<size_t>(e.worst.burst) + 1 == r.bursts.size();
    c.detail =
        "burst " + std::to_string(b.index) + ", ticks " + std::to_string(b.start_tick) + "-" +
        std::to_string(b.end_tick) + ", did not recover before " +
        (last ? std::string("the run ended")
              : "the next burst (tick " +
                    std::to_string(r.bursts[static_cast<size_t>(e.worst.burst) + 1].start_tick) +
                    ")");
    return c;
  }
  c.observed_value = static_cast<double>(e.worst.ticks);
  c.observed = Plural(e.worst.ticks, "tick", "ticks");
  c.verdict = e.worst.ticks <= a.recovery_ticks_max ? Verdict::kPass : Verdict::kFail;
  c.severity = e.worst.ticks > 2 * a.recovery_ticks_max ? Severity::kHigh : Severity::kMedium;
  c.detail = "worst after burst " + std::to_string(b.index) + ", ticks " +
             std::to_string(b.start_tick) + "-" + std::to_string(b.end_tick);
  return c;
}

CriterionResult P99Criterion(const ExperimentRun& r, const Evaluation& e, const Acceptance& a) {
  CriterionResult c;
  c.criterion = "p99_lat_spike";
  if (r.scenario != "lat_spike") return c;  // not applicable
  c.threshold_value = a.p99_max_ms_under_lat_spike;
  c.threshold = "< " + FormatNumber(c.threshold_value, 1, true) + " ms";
  if (!e.chaos.p99) {
    NoData(c, "no latency samples in the chaos phase");
    return c;
  }
  c.observed_value = *e.chaos.p99;
  c.observed = Ms(*e.chaos.p99);
  c.verdict = Below(*e.chaos.p99, c.threshold_value) ? Verdict::kPass : Verdict::kFail;
  c.severity = Severity::kMedium;
  c.detail = "p99 in chaos " + Ms(*e.chaos.p99);
  return c;
}

CriterionResult DiscrepancyCriterion(const ExperimentRun& r, const Acceptance& a) {
  CriterionResult c;
  c.criterion = "discrepancies";
  if (!a.discrepancies_all_detected) return c;  // not judged
  c.threshold_value = static_cast<double>(r.discrepancies_created);
  c.threshold = ">= " + std::to_string(r.discrepancies_created) + " detected";
  c.observed_value = static_cast<double>(r.discrepancies_detected);
  c.observed = std::to_string(r.discrepancies_detected) + " of " +
               std::to_string(r.discrepancies_created) + " detected";
  c.verdict = r.discrepancies_detected >= r.discrepancies_created ? Verdict::kPass : Verdict::kFail;
  c.severity = Severity::kMedium;
  c.detail = std::to_string(r.discrepancies_created - r.discrepancies_detected) +
             " created discrepancies went undetected";
  return c;
}

// What to look at in the engine, per scenario.
std::string ScenarioAdvice(const std::string& scenario) {
  static const std::map<std::string, std::string> kAdvice = {
      {"net_loss",
       "set REST connect/read timeouts below the deadline and retry idempotent requests with "
       "backoff instead of waiting on TCP retransmission"},
      {"exch_429", "review backoff on 429 (honour Retry-After, add jitter)"},
      {"exch_5xx",
       "retry 5xx with capped exponential backoff and jitter, and stop sending to an endpoint "
       "that keeps failing (circuit breaker)"},
      {"lat_spike",
       "give each request a deadline below the tick budget and cancel or hedge slow requests "
       "instead of blocking the tick loop"},
      {"ws_lag",
       "detect stale market data (sequence and timestamp age) and pull or widen quotes while "
       "the feed lags"},
      {"ws_disconnect",
       "reconnect with capped backoff and jitter, then resubscribe and resync the book from a "
       "snapshot"},
      {"dns_flap",
       "keep the last good address when resolution fails (SERVFAIL) and re-resolve off the hot "
       "path"},
      {"clock_skew",
       "sign requests with exchange server time, or keep the clock disciplined (NTP/PTP)"},
      {"mem_pressure",
       "bound caches and queues and preallocate on the hot path so reclaim does not stall the "
       "tick loop"},
      {"rate_limit_storm",
       "budget requests per rate-limit window on the client side and back off on 429 storms "
       "(honour Retry-After, add jitter)"},
      {"reconcile_mismatch",
       "treat an order whose response was lost as unknown: query open orders before re-placing "
       "or cancelling"},
  };
  auto it = kAdvice.find(scenario);
  return it != kAdvice.end() ? it->second : "investigate how the engine handles this fault";
}

}  // namespace

std::string FormatNumber(double v, int decimals, bool trim) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  std::string s = buf;
  if (trim && s.find('.') != std::string::npos) {
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
  }
  // No "-0" / "-0.0".
  if (s[0] == '-' && s.find_first_not_of("-0.") == std::string::npos) s.erase(0, 1);
  return s;
}

std::optional<double> LeadingNumber(std::string_view text) {
  size_t i = text.find_first_not_of("<>= ");
  if (i == std::string_view::npos) return std::nullopt;
  std::string s(text.substr(i));
  const char* begin = s.c_str();
  char* end = nullptr;
  double v = std::strtod(begin, &end);
  if (end == begin || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::optional<double> Percentile(std::vector<double> samples, double p) {
  if (samples.empty()) return std::nullopt;
  std::sort(samples.begin(), samples.end());
  return RankOf(samples, p);
}

PhaseStats ComputePhase(const ExperimentRun& r, Phase p) {
  PhaseStats s;
  std::vector<double> all;
  for (const RunTick& t : r.ticks) {
    if (t.phase != p) continue;
    ++s.ticks;
    all.insert(all.end(), t.latency_ms.begin(), t.latency_ms.end());
    s.deadline_misses += t.deadline_misses;
    s.requests += t.requests;
  }
  s.samples = static_cast<int64_t>(all.size());
  if (!all.empty()) {
    std::sort(all.begin(), all.end());
    s.p50 = RankOf(all, 50);
    s.p95 = RankOf(all, 95);
    s.p99 = RankOf(all, 99);
  }
  if (s.requests > 0)
    s.miss_rate = static_cast<double>(s.deadline_misses) / static_cast<double>(s.requests);
  return s;
}

std::optional<double> TickP95(const RunTick& t) { return Percentile(t.latency_ms, 95); }

std::optional<int64_t> RecoveryTicks(const ExperimentRun& r, size_t burst, double bound_ms) {
  const RunBurst& b = r.bursts.at(burst);
  int64_t limit = burst + 1 < r.bursts.size() ? r.bursts[burst + 1].start_tick
                                              : std::numeric_limits<int64_t>::max();
  for (const RunTick& t : r.ticks) {
    if (t.tick <= b.end_tick) continue;
    if (t.tick >= limit) break;
    std::optional<double> p95 = TickP95(t);
    if (p95 && AtMost(*p95, bound_ms) && t.deadline_misses == 0) return t.tick - b.end_tick - 1;
  }
  return std::nullopt;
}

std::string_view VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kPass:
      return "PASS";
    case Verdict::kFail:
      return "FAIL";
    case Verdict::kNotApplicable:
      return "n/a";
  }
  return "?";
}

RunVerdict VerdictOf(const Evaluation& e) {
  if (!e.pass) return RunVerdict::kFail;
  return e.shadow_only ? RunVerdict::kShadow : RunVerdict::kPass;
}

std::string_view RunVerdictName(RunVerdict v) {
  static constexpr std::string_view kNames[] = {"PASS", "FAIL", "SHADOW"};  // RunVerdict's order
  return kNames[static_cast<size_t>(v)];
}

std::string_view SeverityName(Severity s) {
  switch (s) {
    case Severity::kHigh:
      return "high";
    case Severity::kMedium:
      return "medium";
    case Severity::kLow:
      return "low";
  }
  return "?";
}

std::string_view CriterionUnit(std::string_view criterion) {
  if (criterion == "p95_regression" || criterion == "deadline_miss") return "%";
  if (criterion == "recovery") return "ticks";
  if (criterion == "p99_lat_spike") return "ms";
  if (criterion == "discrepancies") return "discrepancies";
  if (criterion == "shadow_only") return "injections";
  if (criterion == "rollback") return "rollbacks";
  return "";
}

Evaluation Evaluate(const ExperimentRun& r) {
  Evaluation e;
  const Acceptance& a = r.acceptance;
  e.baseline = ComputePhase(r, Phase::kBaseline);
  e.chaos = ComputePhase(r, Phase::kChaos);
  e.recovery = ComputePhase(r, Phase::kRecovery);
  if (e.baseline.p95) e.recovery_bound_ms = *e.baseline.p95 * (1 + a.p95_regression_max);
  if (e.recovery_bound_ms && !r.bursts.empty()) {
    e.worst.measured = true;
    e.worst.recovered = true;
    for (size_t i = 0; i < r.bursts.size(); ++i) {
      std::optional<int64_t> t = RecoveryTicks(r, i, *e.recovery_bound_ms);
      e.recovery_per_burst.push_back(t);
      if (!t) {
        if (e.worst.recovered) e.worst.burst = static_cast<int64_t>(i);
        e.worst.recovered = false;
      } else if (e.worst.recovered && (e.worst.burst < 0 || *t > e.worst.ticks)) {
        e.worst.ticks = *t;
        e.worst.burst = static_cast<int64_t>(i);
      }
    }
    if (!e.worst.recovered) e.worst.ticks = 0;
  }
  e.criteria.push_back(P95Criterion(e, a));
  e.criteria.push_back(DeadlineCriterion(e, a));
  e.criteria.push_back(RecoveryCriterion(r, e, a));
  e.criteria.push_back(P99Criterion(r, e, a));
  e.criteria.push_back(DiscrepancyCriterion(r, a));
  e.pass = std::none_of(e.criteria.begin(), e.criteria.end(),
                        [](const CriterionResult& c) { return c.verdict == Verdict::kFail; });

  e.shadow_only = r.dry_run || r.injections_live == 0;
  if (e.shadow_only) {
    CriterionResult w;
    w.criterion = "shadow_only";
    w.verdict = Verdict::kFail;
    w.severity = Severity::kLow;
    w.observed_value = static_cast<double>(r.injections_live);
    w.observed = Plural(r.injections_live, "live injection", "live injections") +
                 (r.dry_run ? " (dry_run)" : "");
    w.threshold_value = 0;
    w.threshold = "> 0 live injections";
    w.detail = r.dry_run ? "dry_run: decisions were counted, nothing was injected"
                         : "no live injection was made";
    e.warnings.push_back(std::move(w));
  }
  if (!r.rollbacks.empty()) {
    CriterionResult w;
    w.criterion = "rollback";
    w.verdict = Verdict::kFail;
    w.severity = Severity::kLow;
    auto n = static_cast<int64_t>(r.rollbacks.size());
    w.observed_value = static_cast<double>(n);
    w.observed = Plural(n, "rollback", "rollbacks");
    w.threshold_value = 0;
    w.threshold = "= 0 rollbacks";
    for (const RunRollback& rb : r.rollbacks) {
      if (!w.detail.empty()) w.detail += "; ";
      w.detail += "tick " + std::to_string(rb.tick) +
                  (rb.trigger.empty() ? std::string() : ": " + rb.trigger);
    }
    e.warnings.push_back(std::move(w));
  }
  return e;
}

std::string Recommendation(const ExperimentRun& r, const CriterionResult& c) {
  const std::string& s = r.scenario;
  if (c.observed == "no data")
    return s + ": " + c.criterion + " could not be judged (" + c.detail +
           "); check that the engine made requests in every phase and that the experiment "
           "recorded their latencies";
  if (c.criterion == "p95_regression")
    return s + ": p95 latency rose " + c.observed + " under chaos (" + c.detail + "; must be " +
           c.threshold + "); " + ScenarioAdvice(s);
  if (c.criterion == "deadline_miss")
    return s + ": engine exceeded the deadline-miss budget (" + c.observed + "; must be " +
           c.threshold + "); " + ScenarioAdvice(s);
  if (c.criterion == "recovery")
    return s + ": engine did not recover within " + c.threshold.substr(3) + " of a burst (" +
           (c.observed == "not recovered" ? c.detail : c.observed + ", " + c.detail) + "); " +
           ScenarioAdvice(s) + "; cap retry and reconnect backoff so the engine is back within " +
           c.threshold.substr(3);
  if (c.criterion == "p99_lat_spike")
    return s + ": p99 latency under the spike was " + c.observed + " (must be " + c.threshold +
           "); " + ScenarioAdvice(s);
  if (c.criterion == "discrepancies")
    return s + ": reconciliation missed order discrepancies (" + c.observed +
           "); compare every open order with the exchange on each reconciliation pass and "
           "count mismatches by type (mm_reconcile_discrepancies_total)";
  if (c.criterion == "shadow_only")
    return s + ": the run was shadow-only (" + std::to_string(r.injections_live) +
           " live injections" + (r.dry_run ? ", dry_run" : "") +
           "), so its verdicts do not show how the engine copes; rerun with chaos.dry_run: "
           "false and a non-zero intensity";
  if (c.criterion == "rollback")
    return s + ": a rollback trigger fired (" + c.detail +
           "), cutting the chaos phase short; fix the failing path or lower the intensity "
           "before widening the rollout";
  return s + ": " + c.criterion + " failed (" + c.observed + "; must be " + c.threshold + "); " +
         ScenarioAdvice(s);
}

std::vector<Finding> CollectFindings(const std::vector<ExperimentRun>& runs,
                                     const std::vector<Evaluation>& evals) {
  std::vector<Finding> out;
  auto add = [&](const ExperimentRun& r, const CriterionResult& c) {
    Finding f;
    f.id = "F";  // appended, not "F" + ...: g++ 12 at -O3 reports a false -Wrestrict there
    f.id += std::to_string(out.size() + 1);
    f.scenario = r.scenario;
    f.criterion = c.criterion;
    f.severity = std::string(SeverityName(c.severity));
    f.observed = c.observed;
    f.threshold = c.threshold;
    f.observed_value = LeadingNumber(c.observed);
    f.threshold_value = LeadingNumber(c.threshold);
    f.unit = std::string(CriterionUnit(c.criterion));
    f.run = r.source;
    f.recommendation = Recommendation(r, c);
    out.push_back(std::move(f));
  };
  for (size_t i = 0; i < runs.size() && i < evals.size(); ++i) {
    for (const CriterionResult& c : evals[i].criteria)
      if (c.verdict == Verdict::kFail) add(runs[i], c);
    for (const CriterionResult& w : evals[i].warnings) add(runs[i], w);
  }
  return out;
}

}  // namespace mmchaos
