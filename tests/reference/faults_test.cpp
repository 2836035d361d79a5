// The exchange's own test hooks misbehave on purpose, so each of the engine's detectors is seen
// to fire: lost place responses (deadline misses found by reconciliation), 5xx answers (backed
// off) and a stream with holes (seq gaps).
#include <signal.h>

#include "harness.h"

namespace reftest {
namespace {

TEST(ReferenceFaults, LateResponsesMissTheDeadlineAndReconciliationFindsTheOrders) {
  TempDir dir;
  // Every 3rd place is created but answered only after 400 ms.
  ExchangeProc ex = start_exchange(dir, {"--slow-place-every", "3", "--slow-ms", "400"});
  ASSERT_TRUE(ex.proc);
  nlohmann::json stats = run_engine(
      dir, ex, {"--tick-ms", "50", "--deadline-ms", "150", "--reconcile-every-ticks", "4"}, 2500);
  ASSERT_TRUE(stats.is_object());

  const auto lines = read_json_lines(ex.order_log);
  size_t delayed = 0;
  for (const auto& l : lines)
    if (l.value("op", "") == "place" && l.value("delayed_ms", 0) > 0) ++delayed;
  const uint64_t misses = stats["deadline_miss"]["place"].get<uint64_t>();
  const uint64_t found = stats["reconcile"]["discrepancies"]["missing_on_engine"].get<uint64_t>();
  EXPECT_GE(misses, 2u) << stats.dump(2);
  EXPECT_EQ(misses, requests(stats, "place", "timeout"));
  EXPECT_LE(misses, delayed);
  EXPECT_GE(stats["reconnect_attempts"]["rest"].get<uint64_t>(), misses - 1);
  // Each lost response left an order only the exchange knew about; reconciliation finds them
  // (all but those after the last reconciliation: at most two in 4 ticks with every 3rd place
  // slow).
  EXPECT_GE(found, 1u);
  EXPECT_LE(found, misses);
  EXPECT_GE(found + 2, misses);
  EXPECT_EQ(stats["reconcile"]["discrepancies"]["missing_on_exchange"].get<uint64_t>(), 0u);
}

TEST(ReferenceFaults, ServerErrorsAreCountedAndBackedOff) {
  TempDir dir;
  ExchangeProc ex = start_exchange(dir, {"--fail-every", "4"});
  ASSERT_TRUE(ex.proc);
  nlohmann::json stats = run_engine(
      dir, ex, {"--tick-ms", "50", "--deadline-ms", "1000", "--backoff-base-ms", "200"}, 2000);
  ASSERT_TRUE(stats.is_object());
  const uint64_t r503 = requests_with_code(stats, "503");
  EXPECT_GE(r503, 2u) << stats.dump(2);
  // The exchange logged each of them (plus at most one whose answer SIGTERM cut off).
  const size_t fails = count_op(read_json_lines(ex.order_log), "fail");
  EXPECT_LE(r503, fails);
  EXPECT_LE(fails, r503 + 1);
  // Each 503 holds REST work back for at least one 50 ms tick (200 ms backoff).
  EXPECT_GE(stats["backoff_skips"].value("server_error", 0u), 2 * r503);
  EXPECT_GE(requests(stats, "place", "200"), 3u);  // and it recovers in between
}

TEST(ReferenceFaults, HolesInTheStreamAreCountedAsSeqGaps) {
  TempDir dir;
  ExchangeProc ex = start_exchange(dir, {"--tick-ms", "20", "--ws-skip-every", "10"});
  ASSERT_TRUE(ex.proc);
  nlohmann::json stats = run_engine(dir, ex, {"--tick-ms", "100"}, 1500);
  ASSERT_TRUE(stats.is_object());
  const auto& ws = stats["ws"];
  EXPECT_GE(ws["seq_gaps"].get<uint64_t>(), 3u) << ws.dump(2);
  EXPECT_EQ(ws["missed_messages"].get<uint64_t>(), ws["seq_gaps"].get<uint64_t>());
  EXPECT_EQ(ws["out_of_order"].get<uint64_t>(), 0u);
}

TEST(ReferenceExchange, SigtermStopsTheExchangeQuickly) {
  TempDir dir;
  ExchangeProc ex = start_exchange(dir, {});
  ASSERT_TRUE(ex.proc);
  EngineProc en = start_engine(dir, ex, {"--tick-ms", "50"});
  ASSERT_TRUE(en.proc);
  sleep_ms(300);  // with live REST and WS connections
  const auto t0 = std::chrono::steady_clock::now();
  auto rc = ex.proc->stop(SIGTERM, std::chrono::milliseconds(2000));
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(rc.has_value());
  EXPECT_EQ(*rc, 0) << read_file(ex.stderr_path);
  EXPECT_LT(ms, 1000.0);
  // The engine survives its exchange going away.
  sleep_ms(300);
  EXPECT_TRUE(en.proc->running());
  stop_engine(en);
}

}  // namespace
}  // namespace reftest
