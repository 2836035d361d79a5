// The math behind `mmchaos report`: per-phase latency and deadline-miss figures, recovery after
// each burst, and a PASS/FAIL verdict per acceptance criterion. Definitions (the report's
// "Method" section says the same):
//
// - Percentiles are nearest-rank: the p-th percentile of n samples is the ceil(p/100 * n)-th
//   smallest (at least the 1st). A phase's p50/p95/p99 are over every latency_ms sample of the
//   phase's ticks; a phase (or tick) without samples has none ("no data").
// - Deadline-miss rate of a phase = sum(deadline_misses) / sum(requests); none without requests.
// - Recovery bound = baseline p95 * (1 + p95_regression_max). A tick is recovered when it has at
//   least one sample, its p95 <= the bound and it has no deadline miss. Recovery ticks of a burst
//   = (first recovered tick) - end_tick - 1, i.e. the ticks between the burst's last tick
//   (end_tick is inclusive) and the first recovered one: 0 when the tick right after the burst
//   is already recovered. Only ticks after end_tick and before the next burst's start_tick are
//   looked at (capped at the ticks the run has); no recovered tick there = "not recovered".
//   Worst recovery = the maximum over bursts ("not recovered" beats any number); no bursts or
//   no baseline p95 = no data.
// - Criteria, thresholds from the run's `acceptance` (defaults in Acceptance):
//     p95_regression  chaos p95 <= baseline p95 * (1 + p95_regression_max)
//     deadline_miss   chaos deadline-miss rate < deadline_miss_max
//     recovery        worst recovery <= recovery_ticks_max
//     p99_lat_spike   scenario lat_spike only: chaos p99 < p99_max_ms_under_lat_spike
//     discrepancies   detected >= created (not judged when discrepancies_all_detected is false)
//   A criterion without the data to judge it fails ("no data"). Values within 1e-9 (relative)
//   of a threshold count as equal to it, so a value exactly at "<=" passes and at "<" fails.
//   A run passes iff every judged criterion passes.
// - Severity of a failure: high when p95_regression, deadline_miss or recovery misses by more
//   than 2x the threshold (regression > 2 x p95_regression_max, rate > 2 x deadline_miss_max,
//   recovery > 2 x recovery_ticks_max or never); medium for any other failure. Warnings are low
//   and do not fail the run: shadow_only (dry_run, or no live injection) and rollback (a
//   rollback trigger fired).
// - Verdict of a run: FAIL when a judged criterion fails; else SHADOW when it made no live
//   injection (shadow_only: its criteria judged an engine that met no fault, so it proves
//   nothing either way); else PASS. Only PASS runs count as passed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "report/run.h"

namespace mmchaos {

// Nearest-rank percentile of `samples` (any order); nullopt when empty. p is clamped to 0..100.
std::optional<double> Percentile(std::vector<double> samples, double p);

struct PhaseStats {
  int64_t ticks = 0;
  int64_t samples = 0;
  std::optional<double> p50, p95, p99;
  int64_t deadline_misses = 0;
  int64_t requests = 0;
  std::optional<double> miss_rate;  // a share (0..1); nullopt without requests
};

PhaseStats ComputePhase(const ExperimentRun& r, Phase p);

// p95 of one tick's samples (the chart's line); nullopt when the tick has none.
std::optional<double> TickP95(const RunTick& t);

// Recovery ticks of r.bursts[burst] against `bound_ms` (see above); nullopt = not recovered.
std::optional<int64_t> RecoveryTicks(const ExperimentRun& r, size_t burst, double bound_ms);

struct WorstRecovery {
  bool measured = false;   // false: no bursts or no baseline p95
  bool recovered = false;  // every burst recovered
  int64_t ticks = 0;       // the maximum, when recovered
  int64_t burst = -1;      // index (into ExperimentRun::bursts) of the worst burst, when measured
};

enum class Verdict { kPass, kFail, kNotApplicable };
enum class Severity { kHigh, kMedium, kLow };

std::string_view VerdictName(Verdict v);    // PASS, FAIL, n/a
std::string_view SeverityName(Severity s);  // high, medium, low

// One criterion (or warning) of one run, with its figures as the report prints them.
struct CriterionResult {
  std::string criterion;  // p95_regression, deadline_miss, recovery, p99_lat_spike,
                          // discrepancies; warnings: shadow_only, rollback
  Verdict verdict = Verdict::kNotApplicable;
  Severity severity = Severity::kMedium;  // of a failure or warning
  std::string observed;                   // "+40%", "4.1%", "2 ticks", "not recovered", "no data"
  std::string threshold;                  // "<= +15%", "< 2%", "<= 3 ticks"
  std::optional<double> observed_value;   // the number in `observed`, in `unit`
  double threshold_value = 0;             // the number in `threshold`
  std::string detail;                     // the figures behind it, for the recommendation
};

// The unit of a criterion's observed/threshold values: "%", "ticks", "ms", "discrepancies",
// "injections", "rollbacks"; "" when unknown.
std::string_view CriterionUnit(std::string_view criterion);

struct Evaluation {
  PhaseStats baseline, chaos, recovery;
  std::optional<double> recovery_bound_ms;                 // nullopt without a baseline p95
  std::vector<std::optional<int64_t>> recovery_per_burst;  // empty without a bound
  WorstRecovery worst;
  std::vector<CriterionResult> criteria;  // always the five criteria, in the order above
  std::vector<CriterionResult> warnings;  // only those that apply
  bool pass = false;                      // every judged criterion passes
  bool shadow_only = false;  // no live injection (dry_run or none drawn): the shadow_only warning
};

Evaluation Evaluate(const ExperimentRun& r);

enum class RunVerdict { kPass, kFail, kShadow };
RunVerdict VerdictOf(const Evaluation& e);      // see "Verdict of a run" above
std::string_view RunVerdictName(RunVerdict v);  // PASS, FAIL, SHADOW

// A failed criterion or a warning, as report.md lists it and findings.json carries it.
struct Finding {
  std::string id;  // F1, F2, ... in report order
  std::string scenario;
  std::string criterion;
  std::string severity;  // high, medium, low
  std::string observed;
  std::string threshold;
  std::optional<double> observed_value;   // LeadingNumber(observed)
  std::optional<double> threshold_value;  // LeadingNumber(threshold)
  std::string unit;                       // CriterionUnit(criterion)
  std::string run;                        // the run file's name
  std::string recommendation;

  bool operator==(const Finding&) const = default;
};

// The concrete line for a failed criterion or warning of `r`, e.g. "exch_429: engine exceeded
// the deadline-miss budget (4.1%; must be < 2%); review backoff on 429 (honour Retry-After, add
// jitter)".
std::string Recommendation(const ExperimentRun& r, const CriterionResult& c);

// Findings of every run, in run order: failed criteria first (criterion order), then warnings.
std::vector<Finding> CollectFindings(const std::vector<ExperimentRun>& runs,
                                     const std::vector<Evaluation>& evals);

// The number a finding's observed/threshold text starts with, after any comparator ("< 2%" -> 2,
// "+40%" -> 40, "2 of 3 detected" -> 2); nullopt when there is none ("not recovered", "no data").
std::optional<double> LeadingNumber(std::string_view text);

// Number formatting shared by the report and the chart: `decimals` digits after the point;
// `trim` drops trailing zeros (and the point).
std::string FormatNumber(double v, int decimals, bool trim);

}  // namespace mmchaos
