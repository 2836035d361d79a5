// The Prometheus text parser the experiment reads the engine with.
#include "experiment/engine_metrics.h"

#include <gtest/gtest.h>

#include <cmath>

#include "report/run.h"

namespace mmchaos {
namespace {

TEST(PromText, ParsesSamplesLabelsAndEscapes) {
  auto s = ParsePrometheusText(
      "# HELP mm_requests_total Requests\n"
      "# TYPE mm_requests_total counter\n"
      "mm_requests_total{code=\"200\",op=\"place\"} 17\n"
      "mm_requests_total{op=\"cancel\",code=\"429\"} 3 1700000000000\n"
      "\n"
      "mm_open_orders 4\n"
      "weird{path=\"a\\\"b\\\\c\"} 1e3\n"
      "mm_lat_bucket{le=\"+Inf\"} +Inf\n");
  ASSERT_TRUE(s.has_value()) << s.error().message();
  ASSERT_EQ(s->size(), 5u);
  EXPECT_EQ((*s)[0].labels.at("op"), "place");
  EXPECT_EQ((*s)[3].labels.at("path"), "a\"b\\c");
  EXPECT_EQ((*s)[3].value, 1000);
  EXPECT_TRUE(std::isinf((*s)[4].value));
  EXPECT_EQ(SumSamples(*s, "mm_requests_total"), 20);
  EXPECT_EQ(SumSamples(*s, "mm_requests_total", {{"code", "429"}}), 3);
  EXPECT_EQ(SumSamples(*s, "mm_requests_total", {{"code", "503"}}), 0);
  EXPECT_EQ(SumSamples(*s, "mm_open_orders"), 4);
}

TEST(PromText, MalformedLinesNameTheLine) {
  auto s = ParsePrometheusText("ok 1\nbad{x=1} 2\n");
  ASSERT_FALSE(s.has_value());
  EXPECT_NE(s.error().message().find("metrics line 2"), std::string::npos);
  EXPECT_FALSE(ParsePrometheusText("novalue\n").has_value());
}

TEST(RunJson, RoundTripsThroughTheLoader) {
  ExperimentRun r;
  r.scenario = "exch_429";
  r.intensity = 0.5;
  r.started_unix = 1795760000;
  r.tick_ms = 50;
  r.acceptance.deadline_miss_max = 0.05;
  r.ticks = {{0, Phase::kBaseline, false, {1.5, 2.5}, 0, 2},
             {1, Phase::kChaos, true, {}, 1, 1},
             {2, Phase::kRecovery, false, {3}, 0, 1}};
  r.bursts = {{0, 1, 1}};
  r.injections_live = 7;
  r.injections_shadow = 2;
  r.reconnects_ws = 1;
  r.ws_gaps_count = 9;
  r.ws_gaps_p99_ms = 100;
  r.discrepancies_created = 3;
  r.discrepancies_detected = 2;
  r.rollbacks = {{1, "fail-storm"}};
  auto back = ParseRun(RunJson(r));
  ASSERT_TRUE(back.has_value()) << back.error().message();
  EXPECT_EQ(RunJson(*back), RunJson(r));
  EXPECT_EQ(back->ticks[1].phase, Phase::kChaos);
  EXPECT_EQ(back->rollbacks[0].trigger, "fail-storm");
  EXPECT_EQ(back->acceptance.deadline_miss_max, 0.05);
}

}  // namespace
}  // namespace mmchaos
