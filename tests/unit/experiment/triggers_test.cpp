// Rollback-trigger math and the per-request classification behind every tick.
#include "experiment/triggers.h"

#include <gtest/gtest.h>

namespace mmchaos {
namespace {

constexpr uint64_t kMs = 1000000ULL;

mmc_req_event Event(uint8_t outcome, uint64_t latency_ms, uint16_t status = 200) {
  mmc_req_event e{};
  e.outcome = outcome;
  e.latency_ns = latency_ms * kMs;
  e.status = status;
  return e;
}

TEST(TickStats, ClassifiesEachOutcome) {
  TickStats t;
  AddRequest(t, Event(MMC_REQ_ANSWERED, 10), 200 * kMs);
  AddRequest(t, Event(MMC_REQ_ANSWERED, 250), 200 * kMs);  // answered, late
  AddRequest(t, Event(MMC_REQ_HTTP_FAIL, 5, 429), 200 * kMs);
  AddRequest(t, Event(MMC_REQ_RESET, 3, 0), 200 * kMs);
  AddRequest(t, Event(MMC_REQ_ABANDONED, 200, 0), 200 * kMs);
  EXPECT_EQ(t.requests, 5);
  EXPECT_EQ(t.latency_ms, (std::vector<double>{10, 250, 5}));
  EXPECT_EQ(t.deadline_misses, 3);  // late, reset, abandoned
  EXPECT_EQ(t.failures, 3);         // 429, reset, abandoned
}

TriggerTick Tick(int requests, int misses, std::vector<double> lat = {}) {
  TriggerTick t;
  t.kernel.requests = requests;
  t.kernel.deadline_misses = misses;
  t.kernel.failures = misses;
  t.kernel.latency_ms = std::move(lat);
  return t;
}

RollbackTrigger Trig(std::string metric, std::string op, double v, int for_ticks, int window) {
  RollbackTrigger t;
  t.metric = std::move(metric);
  t.op = std::move(op);
  t.value = v;
  t.for_ticks = for_ticks;
  t.window_ticks = window;
  t.name = t.metric + t.op;
  return t;
}

TEST(Triggers, MustHoldForConsecutiveTicks) {
  TriggerEvaluator e({Trig("deadline_miss_pct", ">", 5, 3, 1)});
  EXPECT_FALSE(e.Observe(Tick(10, 1)));  // 10% holds: 1
  EXPECT_FALSE(e.Observe(Tick(10, 1)));  // 2
  EXPECT_FALSE(e.Observe(Tick(10, 0)));  // broken
  EXPECT_FALSE(e.Observe(Tick(10, 1)));
  EXPECT_FALSE(e.Observe(Tick(10, 1)));
  EXPECT_EQ(e.Observe(Tick(10, 1)), "deadline_miss_pct>");
}

TEST(Triggers, WindowAggregatesTicksAndNoDataNeverHolds) {
  TriggerEvaluator e({Trig("deadline_miss_pct", ">=", 50, 1, 4)});
  EXPECT_FALSE(e.Observe(Tick(1, 1)));  // 100%, but the window is not full yet
  EXPECT_FALSE(e.Observe(Tick(0, 0)));
  EXPECT_FALSE(e.Observe(Tick(0, 0)));
  EXPECT_FALSE(e.Observe(Tick(2, 0)));                      // full: 1 of 3 = 33%
  EXPECT_FALSE(e.Observe(Tick(0, 0)));                      // 0 of 2
  EXPECT_FALSE(e.Observe(Tick(0, 0)));                      // 0 of 2
  EXPECT_FALSE(e.Observe(Tick(2, 1)));                      // 1 of 4 = 25%
  EXPECT_EQ(e.Observe(Tick(2, 2)), "deadline_miss_pct>=");  // 3 of 4 = 75%
  RollbackTrigger t = Trig("deadline_miss_pct", ">=", 50, 1, 4);
  EXPECT_DOUBLE_EQ(*e.Value(t), 75);
  e.Observe(Tick(2, 0));  // the window now holds 0, 2/1, 2/2, 2/0: 3 of 6
  EXPECT_DOUBLE_EQ(*e.Value(t), 50);
}

TEST(Triggers, LatencyPercentilesAndRequestCount) {
  TriggerEvaluator e({Trig("p99_ms", ">", 100, 1, 2), Trig("requests", "<", 1, 2, 1)});
  EXPECT_FALSE(e.Observe(Tick(2, 0, {10, 20})));
  EXPECT_FALSE(e.Observe(Tick(2, 0, {10, 20})));
  EXPECT_EQ(e.Observe(Tick(1, 0, {150})), "p99_ms>");
  TriggerEvaluator idle({Trig("requests", "<", 1, 2, 1)});
  EXPECT_FALSE(idle.Observe(Tick(0, 0)));
  EXPECT_EQ(idle.Observe(Tick(0, 0)), "requests<");
}

TEST(Triggers, EngineCounterIncreaseOverTheWindow) {
  TriggerEvaluator e({Trig("engine:mm_deadline_miss_total", ">", 2, 1, 2)});
  EXPECT_EQ(e.EngineMetrics(), std::vector<std::string>{"mm_deadline_miss_total"});
  auto tick = [](double v) {
    TriggerTick t;
    t.engine["mm_deadline_miss_total"] = v;
    return t;
  };
  EXPECT_FALSE(e.Observe(tick(100)));  // window not full
  EXPECT_FALSE(e.Observe(tick(101)));  // 100 -> 101
  EXPECT_FALSE(e.Observe(tick(102)));  // 100 -> 102 over the window: 2, not > 2
  EXPECT_EQ(e.Observe(tick(104)), "engine:mm_deadline_miss_total>");  // 101 -> 104
  EXPECT_FALSE(e.Observe(TriggerTick{}));                             // scrape failed: no data
  e.Reset();
  EXPECT_FALSE(e.Observe(tick(500)));
}

}  // namespace
}  // namespace mmchaos
