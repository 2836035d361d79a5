// The exchange dies (SIGKILL) and comes back on the same ports: the engine reconnects its REST
// and WebSocket connections with backoff and carries on trading.
#include <signal.h>

#include "harness.h"

namespace reftest {
namespace {

TEST(ReferenceReconnect, ExchangeRestartMakesEngineReconnect) {
  TempDir dir;
  ExchangeProc first = start_exchange(dir, {"--tick-ms", "20"}, "first");
  ASSERT_TRUE(first.proc);
  EngineProc en = start_engine(dir, first,
                               {"--tick-ms", "50", "--deadline-ms", "1000", "--backoff-base-ms",
                                "50", "--backoff-max-ms", "400"});
  ASSERT_TRUE(en.proc);
  sleep_ms(1200);
  const std::string before = http_get(en.metrics_port, "/metrics");
  EXPECT_EQ(metric_sum(before, "mm_reconnect_attempts_total", {{"kind", "ws"}}), 0) << before;
  EXPECT_EQ(metric_sum(before, "mm_reconnect_attempts_total", {{"kind", "rest"}}), 0);
  EXPECT_GT(metric_sum(before, "mm_ws_messages_total"), 10);

  first.proc->kill_now();  // a crash: no goodbye on any connection
  sleep_ms(500);
  ExchangeProc second =
      start_exchange(dir, {"--tick-ms", "20"}, "second", first.rest_port, first.ws_port);
  ASSERT_TRUE(second.proc);
  sleep_ms(2000);
  const std::string after = http_get(en.metrics_port, "/metrics");
  nlohmann::json stats = stop_both(en, second);
  ASSERT_TRUE(stats.is_object());

  EXPECT_GE(metric_sum(after, "mm_reconnect_attempts_total", {{"kind", "ws"}}), 1) << after;
  EXPECT_GE(metric_sum(after, "mm_reconnect_attempts_total", {{"kind", "rest"}}), 1);
  EXPECT_GE(stats["ws"]["connections"].get<uint64_t>(), 2u) << stats.dump(2);
  // The stream of the new connection starts over at seq 1: not a gap.
  EXPECT_EQ(stats["ws"]["seq_gaps"].get<uint64_t>(), 0u);
  // Trading resumed against the new exchange.
  EXPECT_GE(count_op(read_json_lines(second.order_log), "place"), 3u) << read_file(en.stderr_path);
  EXPECT_GT(metric_sum(after, "mm_ws_messages_total"),
            metric_sum(before, "mm_ws_messages_total") + 20);
}

}  // namespace
}  // namespace reftest
