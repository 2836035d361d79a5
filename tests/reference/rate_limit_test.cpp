// The exchange's token bucket at 2 req/s (burst 2) against an engine ticking at 20/s: the
// exchange answers 429 with Retry-After, and the engine honours it instead of hammering.
#include <signal.h>

#include "harness.h"

namespace reftest {
namespace {

TEST(ReferenceRateLimit, TightRateProduces429AndEngineBacksOff) {
  TempDir dir;
  ExchangeProc ex = start_exchange(dir, {"--rate", "2", "--burst", "2"});
  ASSERT_TRUE(ex.proc);
  EngineProc en = start_engine(dir, ex, {"--tick-ms", "50", "--deadline-ms", "1000"});
  ASSERT_TRUE(en.proc);
  sleep_ms(3000);
  const std::string scrape = http_get(en.metrics_port, "/metrics");
  nlohmann::json stats = stop_both(en, ex);
  ASSERT_TRUE(stats.is_object());

  EXPECT_GT(metric_sum(scrape, "mm_requests_total", {{"code", "429"}}), 0) << scrape;
  const uint64_t r429 = requests_with_code(stats, "429");
  const uint64_t total = stats["requests_total"].get<uint64_t>();
  const uint64_t ticks = stats["ticks"].get<uint64_t>();
  const double duration = stats["duration_s"].get<double>();
  EXPECT_GT(r429, 0u) << stats.dump(2);
  EXPECT_GE(ticks, 40u);
  // One request per tick would be ~20/s; backing off keeps it near the exchange's 2/s.
  EXPECT_LT(static_cast<double>(total), 0.3 * static_cast<double>(ticks)) << stats.dump(2);
  EXPECT_LT(static_cast<double>(total) / duration, 5.0);
  // Retry-After (1 s here) is honoured: about one 429 per second, not one per tick.
  EXPECT_LE(static_cast<double>(r429), duration + 2) << stats.dump(2);
  EXPECT_GT(stats["backoff_skips"].value("rate_limited", 0u), ticks / 2);
  // The exchange saw the same: a few rate-limited requests and the admitted orders.
  const auto lines = read_json_lines(ex.order_log);
  const size_t limited = count_op(lines, "rate_limited");
  EXPECT_LE(r429, limited);
  EXPECT_LE(limited, r429 + 1);  // one answer may have been cut off by SIGTERM
  for (const auto& l : lines) {
    if (l.value("op", "") == "rate_limited") {
      EXPECT_GE(l["retry_after"].get<int>(), 1);
    }
  }
}

}  // namespace
}  // namespace reftest
