// Percentile, per-phase figures, recovery and verdict math of `mmchaos report` (analysis.h).
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "report/analysis.h"

namespace mmchaos {
namespace {

RunTick T(int64_t tick, Phase phase, std::vector<double> lat, int64_t misses = 0,
          int64_t requests = -1) {
  RunTick t;
  t.tick = tick;
  t.phase = phase;
  t.requests = requests < 0 ? static_cast<int64_t>(lat.size()) : requests;
  t.latency_ms = std::move(lat);
  t.deadline_misses = misses;
  return t;
}

// Baseline ticks 0..9 with p95 exactly 100 ms; one burst over ticks 10..12. The caller adds the
// chaos ticks.
ExperimentRun Base(const std::string& scenario = "net_loss") {
  ExperimentRun r;
  r.scenario = scenario;
  r.injections_live = 10;
  for (int t = 0; t < 10; ++t) r.ticks.push_back(T(t, Phase::kBaseline, {90, 100}));
  r.bursts.push_back({0, 10, 12});
  return r;
}

// Chaos ticks 10..(10+n-1), each with the same single sample and `requests` requests.
void AddChaos(ExperimentRun& r, int n, double lat, int64_t requests = 100,
              int64_t misses_total = 0) {
  for (int i = 0; i < n; ++i) {
    int64_t m = i == 0 ? misses_total : 0;
    r.ticks.push_back(T(10 + i, Phase::kChaos, {lat}, m, requests));
  }
}

const CriterionResult& Crit(const Evaluation& e, const std::string& name) {
  for (const CriterionResult& c : e.criteria)
    if (c.criterion == name) return c;
  ADD_FAILURE() << "no criterion " << name;
  static CriterionResult none;
  return none;
}

// --- Percentile --------------------------------------------------------------------------

TEST(ReportPercentile, EmptyHasNone) {
  EXPECT_EQ(Percentile({}, 50), std::nullopt);
  EXPECT_EQ(Percentile({}, 99), std::nullopt);
}

TEST(ReportPercentile, SingleSampleIsEveryPercentile) {
  for (double p : {0.0, 1.0, 50.0, 95.0, 99.0, 100.0}) EXPECT_EQ(Percentile({7.5}, p), 7.5) << p;
}

TEST(ReportPercentile, NearestRankOnExactRanks) {
  std::vector<double> v;
  for (int i = 100; i >= 1; --i) v.push_back(i);  // unsorted on purpose
  EXPECT_EQ(Percentile(v, 50), 50);
  EXPECT_EQ(Percentile(v, 95), 95);
  EXPECT_EQ(Percentile(v, 99), 99);
  EXPECT_EQ(Percentile(v, 100), 100);
  EXPECT_EQ(Percentile(v, 1), 1);
  // 0.95 * 20 is 19.000000000000004 in doubles: still rank 19, not 20.
  std::vector<double> w;
  for (int i = 1; i <= 20; ++i) w.push_back(i);
  EXPECT_EQ(Percentile(w, 95), 19);
  EXPECT_EQ(Percentile(w, 50), 10);
  EXPECT_EQ(Percentile(w, 5), 1);
}

TEST(ReportPercentile, RoundsRankUpNotInterpolating) {
  std::vector<double> v{1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  EXPECT_EQ(Percentile(v, 95), 10);  // ceil(9.5) = 10
  EXPECT_EQ(Percentile(v, 51), 6);   // ceil(5.1) = 6
  EXPECT_EQ(Percentile(v, 50), 5);   // exactly rank 5
  EXPECT_EQ(Percentile({10, 20}, 50), 10);
}

TEST(ReportPercentile, ZeroAndOutOfRangeClamp) {
  std::vector<double> v{3, 1, 2};
  EXPECT_EQ(Percentile(v, 0), 1);
  EXPECT_EQ(Percentile(v, -5), 1);
  EXPECT_EQ(Percentile(v, 150), 3);
}

TEST(ReportPercentile, Duplicates) { EXPECT_EQ(Percentile({5, 5, 5, 9}, 75), 5); }

// --- Phases ------------------------------------------------------------------------------

TEST(ReportPhase, EmptyPhaseHasNoFigures) {
  ExperimentRun r = Base();
  PhaseStats s = ComputePhase(r, Phase::kRecovery);
  EXPECT_EQ(s.ticks, 0);
  EXPECT_EQ(s.samples, 0);
  EXPECT_EQ(s.p50, std::nullopt);
  EXPECT_EQ(s.p95, std::nullopt);
  EXPECT_EQ(s.p99, std::nullopt);
  EXPECT_EQ(s.miss_rate, std::nullopt);
}

TEST(ReportPhase, TicksWithoutSamplesOrRequests) {
  ExperimentRun r;
  r.ticks.push_back(T(0, Phase::kChaos, {}, 0, 0));
  r.ticks.push_back(T(1, Phase::kChaos, {}, 0, 0));
  PhaseStats s = ComputePhase(r, Phase::kChaos);
  EXPECT_EQ(s.ticks, 2);
  EXPECT_EQ(s.p95, std::nullopt);
  EXPECT_EQ(s.miss_rate, std::nullopt);
}

TEST(ReportPhase, PoolsSamplesOfThePhaseOnly) {
  ExperimentRun r;
  r.ticks.push_back(T(0, Phase::kBaseline, {1000}));
  r.ticks.push_back(T(1, Phase::kChaos, {1, 2, 3}));
  r.ticks.push_back(T(2, Phase::kChaos, {4, 5}));
  r.ticks.push_back(T(3, Phase::kRecovery, {2000}));
  PhaseStats s = ComputePhase(r, Phase::kChaos);
  EXPECT_EQ(s.samples, 5);
  EXPECT_EQ(s.p50, 3);
  EXPECT_EQ(s.p95, 5);
  EXPECT_EQ(s.p99, 5);
}

TEST(ReportPhase, MissRateIsOverRequestsNotAnAverageOfTicks) {
  ExperimentRun r;
  r.ticks.push_back(T(0, Phase::kChaos, {1}, 1, 2));  // 50% in this tick
  r.ticks.push_back(T(1, Phase::kChaos, {1}, 0, 8));  // 0% in this one
  PhaseStats s = ComputePhase(r, Phase::kChaos);
  EXPECT_EQ(s.deadline_misses, 1);
  EXPECT_EQ(s.requests, 10);
  ASSERT_TRUE(s.miss_rate);
  EXPECT_DOUBLE_EQ(*s.miss_rate, 0.1);
}

// --- Recovery ----------------------------------------------------------------------------

TEST(ReportRecovery, RecoveredOnTheFirstTickAfterTheBurstIsZero) {
  ExperimentRun r = Base();
  AddChaos(r, 6, 50);  // ticks 10..15
  EXPECT_EQ(RecoveryTicks(r, 0, 115), 0);
}

TEST(ReportRecovery, CountsTheTicksBeforeTheFirstRecoveredOne) {
  ExperimentRun r = Base();
  for (int t = 10; t <= 12; ++t) r.ticks.push_back(T(t, Phase::kChaos, {300}));
  r.ticks.push_back(T(13, Phase::kChaos, {200}));
  r.ticks.push_back(T(14, Phase::kChaos, {116}));  // just over the bound
  r.ticks.push_back(T(15, Phase::kRecovery, {90}));
  EXPECT_EQ(RecoveryTicks(r, 0, 115), 2);
}

TEST(ReportRecovery, NeverRecoveredIsNone) {
  ExperimentRun r = Base();
  for (int t = 10; t <= 20; ++t) r.ticks.push_back(T(t, Phase::kChaos, {300}));
  EXPECT_EQ(RecoveryTicks(r, 0, 115), std::nullopt);
}

TEST(ReportRecovery, BurstAtTheEndOfTheRunIsNotRecovered) {
  ExperimentRun r = Base();
  for (int t = 10; t <= 12; ++t) r.ticks.push_back(T(t, Phase::kChaos, {50}));
  EXPECT_EQ(RecoveryTicks(r, 0, 115), std::nullopt);
}

TEST(ReportRecovery, BoundIsInclusive) {
  ExperimentRun r = Base();
  AddChaos(r, 3, 300);
  r.ticks.push_back(T(13, Phase::kChaos, {115}));
  EXPECT_EQ(RecoveryTicks(r, 0, 115), 0);
  // As Evaluate computes it: 100 * (1 + 0.15) is 114.99999999999999 in doubles.
  Evaluation e = Evaluate(r);
  ASSERT_TRUE(e.recovery_bound_ms);
  ASSERT_EQ(e.recovery_per_burst.size(), 1u);
  EXPECT_EQ(e.recovery_per_burst[0], 0);
}

TEST(ReportRecovery, ATickWithADeadlineMissIsNotRecovered) {
  ExperimentRun r = Base();
  AddChaos(r, 3, 300);
  r.ticks.push_back(T(13, Phase::kChaos, {50}, 1, 1));
  r.ticks.push_back(T(14, Phase::kChaos, {50}));
  EXPECT_EQ(RecoveryTicks(r, 0, 115), 1);
}

TEST(ReportRecovery, ATickWithoutSamplesIsNotRecovered) {
  ExperimentRun r = Base();
  AddChaos(r, 3, 300);
  r.ticks.push_back(T(13, Phase::kChaos, {}, 0, 0));
  r.ticks.push_back(T(14, Phase::kChaos, {50}));
  EXPECT_EQ(RecoveryTicks(r, 0, 115), 1);
}

TEST(ReportRecovery, UsesTickNumbersAcrossGaps) {
  ExperimentRun r = Base();
  AddChaos(r, 3, 300);
  r.ticks.push_back(T(16, Phase::kChaos, {50}));  // ticks 13..15 missing from the file
  EXPECT_EQ(RecoveryTicks(r, 0, 115), 3);
}

TEST(ReportRecovery, StopsAtTheNextBurst) {
  ExperimentRun r = Base();
  r.bursts.push_back({1, 15, 16});
  for (int t = 10; t <= 14; ++t) r.ticks.push_back(T(t, Phase::kChaos, {300}));
  r.ticks.push_back(T(15, Phase::kChaos, {50}));  // good, but inside the next burst
  r.ticks.push_back(T(16, Phase::kChaos, {50}));
  r.ticks.push_back(T(17, Phase::kChaos, {50}));
  EXPECT_EQ(RecoveryTicks(r, 0, 115), std::nullopt);
  EXPECT_EQ(RecoveryTicks(r, 1, 115), 0);
}

TEST(ReportRecovery, PerTickP95NotTheMean) {
  ExperimentRun r = Base();
  AddChaos(r, 3, 300);
  // 19 fast samples and one slow: p95 is the 19th = 10, so recovered.
  std::vector<double> lat(19, 10.0);
  lat.push_back(1000);
  r.ticks.push_back(T(13, Phase::kChaos, lat));
  EXPECT_EQ(RecoveryTicks(r, 0, 115), 0);
  // 18 fast and two slow: p95 is slow.
  lat[0] = 1000;
  r.ticks.back().latency_ms = lat;
  EXPECT_EQ(RecoveryTicks(r, 0, 115), std::nullopt);
}

TEST(ReportRecovery, WorstIsTheMaximumAndNotRecoveredWins) {
  ExperimentRun r = Base();
  r.bursts = {{0, 10, 10}, {1, 14, 14}, {2, 20, 20}};
  // burst 0: 2 ticks (11, 12 slow); burst 1: 1 tick (15 slow); burst 2: 0.
  for (int t = 10; t <= 22; ++t) {
    bool slow = t == 10 || t == 11 || t == 12 || t == 14 || t == 15 || t == 20;
    r.ticks.push_back(T(t, Phase::kChaos, {slow ? 300.0 : 50.0}));
  }
  Evaluation e = Evaluate(r);
  EXPECT_TRUE(e.worst.measured);
  EXPECT_TRUE(e.worst.recovered);
  EXPECT_EQ(e.worst.ticks, 2);
  EXPECT_EQ(e.worst.burst, 0);
  EXPECT_EQ(e.recovery_per_burst, (std::vector<std::optional<int64_t>>{2, 1, 0}));
  // Burst 1 now never recovers before burst 2.
  for (RunTick& t : r.ticks)
    if (t.tick >= 15 && t.tick <= 19) t.latency_ms = {300};
  e = Evaluate(r);
  EXPECT_FALSE(e.worst.recovered);
  EXPECT_EQ(e.worst.burst, 1);
  EXPECT_EQ(Crit(e, "recovery").observed, "not recovered");
  EXPECT_EQ(Crit(e, "recovery").severity, Severity::kHigh);
}

// --- Verdicts ----------------------------------------------------------------------------

TEST(ReportVerdict, AllPass) {
  ExperimentRun r = Base();
  AddChaos(r, 10, 105, 100, 1);  // 1 miss in 1000 requests
  Evaluation e = Evaluate(r);
  EXPECT_TRUE(e.pass);
  EXPECT_EQ(VerdictOf(e), RunVerdict::kPass);
  EXPECT_EQ(Crit(e, "p95_regression").verdict, Verdict::kPass);
  EXPECT_EQ(Crit(e, "p95_regression").observed, "+5%");
  EXPECT_EQ(Crit(e, "deadline_miss").verdict, Verdict::kPass);
  EXPECT_EQ(Crit(e, "deadline_miss").observed, "0.1%");
  EXPECT_EQ(Crit(e, "recovery").verdict, Verdict::kPass);
  EXPECT_EQ(Crit(e, "recovery").observed, "0 ticks");
  EXPECT_EQ(Crit(e, "p99_lat_spike").verdict, Verdict::kNotApplicable);
  EXPECT_EQ(Crit(e, "discrepancies").verdict, Verdict::kPass);
  EXPECT_TRUE(e.warnings.empty());
  ASSERT_EQ(e.criteria.size(), 5u);
}

TEST(ReportVerdict, P95AtExactlyTheThresholdPasses) {
  ExperimentRun r = Base();
  AddChaos(r, 10, 115);  // 100 * 1.15 is not exactly 115 in doubles
  Evaluation e = Evaluate(r);
  EXPECT_EQ(Crit(e, "p95_regression").verdict, Verdict::kPass);
  EXPECT_EQ(Crit(e, "p95_regression").observed, "+15%");
  EXPECT_EQ(Crit(e, "p95_regression").threshold, "<= +15%");
}

TEST(ReportVerdict, P95JustOverFailsMediumAndOverTwiceFailsHigh) {
  ExperimentRun r = Base();
  AddChaos(r, 3, 115.1);
  Evaluation e = Evaluate(r);
  EXPECT_EQ(Crit(e, "p95_regression").verdict, Verdict::kFail);
  EXPECT_EQ(Crit(e, "p95_regression").severity, Severity::kMedium);
  EXPECT_FALSE(e.pass);

  r = Base();
  AddChaos(r, 3, 130);  // exactly 2x the allowed regression: still medium
  EXPECT_EQ(Crit(Evaluate(r), "p95_regression").severity, Severity::kMedium);

  r = Base();
  AddChaos(r, 3, 131);
  e = Evaluate(r);
  EXPECT_EQ(Crit(e, "p95_regression").severity, Severity::kHigh);
  EXPECT_EQ(Crit(e, "p95_regression").observed, "+31%");
  ASSERT_TRUE(Crit(e, "p95_regression").observed_value);
  EXPECT_NEAR(*Crit(e, "p95_regression").observed_value, 31, 1e-9);
}

TEST(ReportVerdict, DeadlineMissAtExactlyTheThresholdFails) {
  ExperimentRun r = Base();
  AddChaos(r, 1, 50, 100, 2);  // 2 of 100 = 2%: not < 2%
  Evaluation e = Evaluate(r);
  EXPECT_EQ(Crit(e, "deadline_miss").verdict, Verdict::kFail);
  EXPECT_EQ(Crit(e, "deadline_miss").severity, Severity::kMedium);
  EXPECT_EQ(Crit(e, "deadline_miss").observed, "2%");
  EXPECT_EQ(Crit(e, "deadline_miss").threshold, "< 2%");

  r = Base();
  AddChaos(r, 1, 50, 100, 1);
  EXPECT_EQ(Crit(Evaluate(r), "deadline_miss").verdict, Verdict::kPass);
  r = Base();
  AddChaos(r, 1, 50, 100, 4);  // exactly 2x: medium
  EXPECT_EQ(Crit(Evaluate(r), "deadline_miss").severity, Severity::kMedium);
  r = Base();
  AddChaos(r, 1, 50, 1000, 41);  // 4.1%: high
  e = Evaluate(r);
  EXPECT_EQ(Crit(e, "deadline_miss").severity, Severity::kHigh);
  EXPECT_EQ(Crit(e, "deadline_miss").observed, "4.1%");
}

TEST(ReportVerdict, RecoveryAtExactlyTheThresholdPasses) {
  auto with_recovery = [](int ticks) {
    ExperimentRun r = Base();
    for (int t = 10; t <= 12 + ticks; ++t) r.ticks.push_back(T(t, Phase::kChaos, {300}));
    r.ticks.push_back(T(13 + ticks, Phase::kChaos, {50}));
    return Evaluate(r);
  };
  EXPECT_EQ(Crit(with_recovery(3), "recovery").verdict, Verdict::kPass);
  EXPECT_EQ(Crit(with_recovery(3), "recovery").observed, "3 ticks");
  EXPECT_EQ(Crit(with_recovery(4), "recovery").verdict, Verdict::kFail);
  EXPECT_EQ(Crit(with_recovery(4), "recovery").severity, Severity::kMedium);
  EXPECT_EQ(Crit(with_recovery(6), "recovery").severity, Severity::kMedium);
  EXPECT_EQ(Crit(with_recovery(7), "recovery").severity, Severity::kHigh);
  EXPECT_EQ(Crit(with_recovery(1), "recovery").observed, "1 tick");
}

TEST(ReportVerdict, P99OnlyUnderLatSpikeAndStrict) {
  ExperimentRun r = Base();
  r.acceptance.p95_regression_max = 5;  // only p99 matters here
  AddChaos(r, 5, 400);
  EXPECT_EQ(Crit(Evaluate(r), "p99_lat_spike").verdict, Verdict::kNotApplicable);

  r.scenario = "lat_spike";
  Evaluation e = Evaluate(r);
  EXPECT_EQ(Crit(e, "p99_lat_spike").verdict, Verdict::kFail);
  EXPECT_EQ(Crit(e, "p99_lat_spike").observed, "400.0 ms");
  EXPECT_EQ(Crit(e, "p99_lat_spike").threshold, "< 250 ms");

  r = Base("lat_spike");
  r.acceptance.p95_regression_max = 5;
  AddChaos(r, 5, 250);
  EXPECT_EQ(Crit(Evaluate(r), "p99_lat_spike").verdict, Verdict::kFail);
  r = Base("lat_spike");
  r.acceptance.p95_regression_max = 5;
  AddChaos(r, 5, 249.9);
  EXPECT_EQ(Crit(Evaluate(r), "p99_lat_spike").verdict, Verdict::kPass);
}

TEST(ReportVerdict, Discrepancies) {
  ExperimentRun r = Base();
  AddChaos(r, 5, 50);
  r.discrepancies_created = 3;
  r.discrepancies_detected = 3;
  EXPECT_EQ(Crit(Evaluate(r), "discrepancies").verdict, Verdict::kPass);
  r.discrepancies_detected = 4;
  EXPECT_EQ(Crit(Evaluate(r), "discrepancies").verdict, Verdict::kPass);
  r.discrepancies_detected = 2;
  Evaluation e = Evaluate(r);
  EXPECT_EQ(Crit(e, "discrepancies").verdict, Verdict::kFail);
  EXPECT_EQ(Crit(e, "discrepancies").observed, "2 of 3 detected");
  EXPECT_EQ(Crit(e, "discrepancies").threshold, ">= 3 detected");
  EXPECT_FALSE(e.pass);
  r.acceptance.discrepancies_all_detected = false;
  e = Evaluate(r);
  EXPECT_EQ(Crit(e, "discrepancies").verdict, Verdict::kNotApplicable);
  EXPECT_TRUE(e.pass);
}

// A failed criterion is FAIL whether or not anything was injected: the engine failed on its own.
TEST(ReportVerdict, AFailedCriterionIsFailEvenWithoutLiveInjections) {
  ExperimentRun r = Base();
  AddChaos(r, 10, 105, 100, 50);  // 50 misses in 1000 requests
  r.injections_live = 0;
  Evaluation e = Evaluate(r);
  EXPECT_TRUE(e.shadow_only);
  EXPECT_EQ(VerdictOf(e), RunVerdict::kFail);
  r.injections_live = 1;
  EXPECT_EQ(VerdictOf(Evaluate(r)), RunVerdict::kFail);
}

TEST(ReportVerdict, EmptyChaosPhaseFailsWithNoData) {
  ExperimentRun r = Base();
  Evaluation e = Evaluate(r);
  EXPECT_FALSE(e.pass);
  EXPECT_EQ(Crit(e, "p95_regression").verdict, Verdict::kFail);
  EXPECT_EQ(Crit(e, "p95_regression").observed, "no data");
  EXPECT_EQ(Crit(e, "p95_regression").observed_value, std::nullopt);
  EXPECT_EQ(Crit(e, "deadline_miss").observed, "no data");
  EXPECT_EQ(Crit(e, "recovery").observed, "not recovered");  // no ticks after the burst
}

TEST(ReportVerdict, EmptyBaselineFailsWithNoData) {
  ExperimentRun r;
  r.scenario = "net_loss";
  r.bursts.push_back({0, 1, 2});
  for (int t = 0; t < 6; ++t) r.ticks.push_back(T(t, Phase::kChaos, {50}));
  Evaluation e = Evaluate(r);
  EXPECT_EQ(e.recovery_bound_ms, std::nullopt);
  EXPECT_FALSE(e.worst.measured);
  EXPECT_EQ(Crit(e, "p95_regression").observed, "no data");
  EXPECT_EQ(Crit(e, "recovery").observed, "no data");
  EXPECT_EQ(Crit(e, "deadline_miss").verdict, Verdict::kPass);
  EXPECT_FALSE(e.pass);
}

TEST(ReportVerdict, NoBurstsIsNoRecoveryData) {
  ExperimentRun r = Base();
  r.bursts.clear();
  AddChaos(r, 5, 50);
  Evaluation e = Evaluate(r);
  EXPECT_EQ(Crit(e, "recovery").verdict, Verdict::kFail);
  EXPECT_EQ(Crit(e, "recovery").observed, "no data");
  EXPECT_EQ(Crit(e, "recovery").severity, Severity::kMedium);
}

TEST(ReportVerdict, ThresholdsComeFromTheRun) {
  ExperimentRun r = Base();
  AddChaos(r, 5, 140, 100, 5);  // +40%, 1% misses over 500 requests
  r.acceptance.p95_regression_max = 0.5;
  r.acceptance.deadline_miss_max = 0.005;
  Evaluation e = Evaluate(r);
  EXPECT_EQ(Crit(e, "p95_regression").verdict, Verdict::kPass);
  EXPECT_EQ(Crit(e, "p95_regression").threshold, "<= +50%");
  EXPECT_EQ(Crit(e, "deadline_miss").verdict, Verdict::kFail);
  EXPECT_EQ(Crit(e, "deadline_miss").threshold, "< 0.5%");
  EXPECT_EQ(Crit(e, "deadline_miss").severity, Severity::kMedium);
  ASSERT_TRUE(e.recovery_bound_ms);
  EXPECT_DOUBLE_EQ(*e.recovery_bound_ms, 150);
}

TEST(ReportVerdict, WarningsAreLowAndDoNotFailTheRun) {
  ExperimentRun r = Base();
  AddChaos(r, 5, 50);
  r.dry_run = true;
  r.injections_live = 0;
  r.injections_shadow = 12;
  r.rollbacks.push_back({11, "deadline_miss > 5% for 3 ticks"});
  Evaluation e = Evaluate(r);
  EXPECT_TRUE(e.pass);
  // ... but a run without a live injection is not PASS: it is SHADOW.
  EXPECT_TRUE(e.shadow_only);
  EXPECT_EQ(VerdictOf(e), RunVerdict::kShadow);
  EXPECT_EQ(RunVerdictName(VerdictOf(e)), "SHADOW");
  ASSERT_EQ(e.warnings.size(), 2u);
  EXPECT_EQ(e.warnings[0].criterion, "shadow_only");
  EXPECT_EQ(e.warnings[0].severity, Severity::kLow);
  EXPECT_EQ(e.warnings[0].observed, "0 live injections (dry_run)");
  EXPECT_EQ(e.warnings[1].criterion, "rollback");
  EXPECT_EQ(e.warnings[1].observed, "1 rollback");
  EXPECT_EQ(e.warnings[1].detail, "tick 11: deadline_miss > 5% for 3 ticks");

  r.dry_run = false;  // live mode that injected nothing is shadow-only too
  e = Evaluate(r);
  ASSERT_FALSE(e.warnings.empty());
  EXPECT_EQ(e.warnings[0].observed, "0 live injections");
  r.injections_live = 1;
  r.rollbacks.clear();
  EXPECT_TRUE(Evaluate(r).warnings.empty());
}

// --- Findings ----------------------------------------------------------------------------

TEST(ReportFindingsMath, OnePerFailureThenWarningsWithConcreteRecommendations) {
  ExperimentRun a = Base("exch_429");
  a.source = "a.json";
  AddChaos(a, 5, 50, 200, 41);  // 41 of 1000
  ExperimentRun b = Base("net_loss");
  b.source = "b.json";
  AddChaos(b, 5, 50);
  b.dry_run = true;
  std::vector<ExperimentRun> runs{a, b};
  std::vector<Evaluation> evals{Evaluate(a), Evaluate(b)};
  std::vector<Finding> f = CollectFindings(runs, evals);
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[0].id, "F1");
  EXPECT_EQ(f[0].scenario, "exch_429");
  EXPECT_EQ(f[0].criterion, "deadline_miss");
  EXPECT_EQ(f[0].severity, "high");
  EXPECT_EQ(f[0].observed, "4.1%");
  EXPECT_EQ(f[0].observed_value, 4.1);
  EXPECT_EQ(f[0].threshold_value, 2);
  EXPECT_EQ(f[0].unit, "%");
  EXPECT_EQ(f[0].run, "a.json");
  EXPECT_EQ(f[0].recommendation,
            "exch_429: engine exceeded the deadline-miss budget (4.1%; must be < 2%); review "
            "backoff on 429 (honour Retry-After, add jitter)");
  EXPECT_EQ(f[1].id, "F2");
  EXPECT_EQ(f[1].criterion, "shadow_only");
  EXPECT_EQ(f[1].severity, "low");
  EXPECT_EQ(f[1].unit, "injections");
}

TEST(ReportFormat, NumbersAndLeadingNumbers) {
  EXPECT_EQ(FormatNumber(4.1, 2, true), "4.1");
  EXPECT_EQ(FormatNumber(2, 2, true), "2");
  EXPECT_EQ(FormatNumber(15.000000000000002, 2, true), "15");
  EXPECT_EQ(FormatNumber(12.34, 1, false), "12.3");
  EXPECT_EQ(FormatNumber(-0.001, 2, true), "0");
  EXPECT_EQ(FormatNumber(-0.04, 1, false), "0.0");
  EXPECT_EQ(LeadingNumber("< 2%"), 2);
  EXPECT_EQ(LeadingNumber("<= +15%"), 15);
  EXPECT_EQ(LeadingNumber("-3.5%"), -3.5);
  EXPECT_EQ(LeadingNumber("2 of 3 detected"), 2);
  EXPECT_EQ(LeadingNumber("not recovered"), std::nullopt);
  EXPECT_EQ(LeadingNumber("no data"), std::nullopt);
}

}  // namespace
}  // namespace mmchaos
