// A clean run: the engine against an unconstrained exchange for ~2 s. Orders reach the
// exchange, the market data arrives without gaps, reconciliation agrees, the metrics endpoint
// serves the engine's figures and SIGTERM ends the engine within a second.
#include <signal.h>

#include <chrono>

#include "harness.h"

namespace reftest {
namespace {

class ReferenceCleanRun : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    ExchangeProc ex =
        start_exchange(*dir_, {"--tick-ms", "20", "--rate", "1000", "--burst", "1000"});
    if (!ex.proc) return;
    EngineProc en = start_engine(*dir_, ex,
                                 {"--tick-ms", "50", "--deadline-ms", "1000",
                                  "--reconcile-every-ticks", "5", "--max-open", "3"},
                                 // by name: /etc/hosts resolves it, no DNS server involved
                                 "localhost");
    if (!en.proc) return;
    sleep_ms(2000);
    scrape_ = new std::string(http_get(en.metrics_port, "/metrics"));
    const auto t0 = std::chrono::steady_clock::now();
    exit_status_ = en.proc->stop(SIGTERM, std::chrono::milliseconds(3000));
    exit_ms_ =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    stats_ = new nlohmann::json(nlohmann::json::parse(read_file(en.stats_path), nullptr, false));
    engine_log_ = new std::string(read_file(en.stderr_path));
    ex.proc->stop(SIGTERM, std::chrono::milliseconds(2000));
    orders_ = new std::vector<nlohmann::json>(read_json_lines(ex.order_log));
  }
  static void TearDownTestSuite() {
    delete stats_;
    delete orders_;
    delete scrape_;
    delete engine_log_;
    delete dir_;
  }
  void SetUp() override {
    ASSERT_NE(stats_, nullptr) << "the clean run did not start";
    ASSERT_TRUE(stats_->is_object()) << "no stats; engine log:\n" << *engine_log_;
  }

  static inline TempDir* dir_ = nullptr;
  static inline nlohmann::json* stats_ = nullptr;
  static inline std::vector<nlohmann::json>* orders_ = nullptr;
  static inline std::string* scrape_ = nullptr;
  static inline std::string* engine_log_ = nullptr;
  static inline std::optional<int> exit_status_;
  static inline double exit_ms_ = 0;
};

TEST_F(ReferenceCleanRun, OrdersPlacedReachTheOrderLog) {
  const uint64_t placed = requests(*stats_, "place", "200");
  const uint64_t canceled = requests(*stats_, "cancel", "200");
  EXPECT_GE(placed, 10u) << stats_->dump(2);
  EXPECT_GE(canceled, 5u);
  // Every acknowledged place is in the exchange's log; at most one more (in flight at SIGTERM).
  const size_t logged = count_op(*orders_, "place");
  EXPECT_GE(logged, placed);
  EXPECT_LE(logged, placed + 1);
  EXPECT_EQ(count_op(*orders_, "rate_limited"), 0u);
  // The engine's client ids are the ones in the log, in order.
  for (const auto& o : *orders_) {
    if (o.value("op", "") == "place") {
      EXPECT_EQ(o.value("client_id", "").rfind("ref-", 0), 0u);
    }
  }
}

TEST_F(ReferenceCleanRun, WsStreamIsConsumedWithoutSeqGaps) {
  const auto& ws = (*stats_)["ws"];
  EXPECT_GE(ws["messages"].get<uint64_t>(), 40u) << ws.dump(2);  // ~100 sent at 20 ms
  EXPECT_EQ(ws["seq_gaps"].get<uint64_t>(), 0u);
  EXPECT_EQ(ws["missed_messages"].get<uint64_t>(), 0u);
  EXPECT_EQ(ws["out_of_order"].get<uint64_t>(), 0u);
  EXPECT_EQ(ws["connections"].get<uint64_t>(), 1u);
  EXPECT_LT(ws["gap_ms"]["p50"].get<double>(), 60.0);
}

TEST_F(ReferenceCleanRun, ReconciliationCountsNoDiscrepancies) {
  const auto& rec = (*stats_)["reconcile"];
  EXPECT_GE(rec["runs"].get<uint64_t>(), 4u) << rec.dump(2);
  EXPECT_EQ(rec["discrepancies"]["missing_on_engine"].get<uint64_t>(), 0u);
  EXPECT_EQ(rec["discrepancies"]["missing_on_exchange"].get<uint64_t>(), 0u);
  EXPECT_EQ((*stats_)["deadline_miss"]["place"].get<uint64_t>(), 0u);
  EXPECT_EQ((*stats_)["reconnect_attempts"]["rest"].get<uint64_t>(), 0u);
  EXPECT_EQ((*stats_)["reconnect_attempts"]["ws"].get<uint64_t>(), 0u);
}

TEST_F(ReferenceCleanRun, MetricsEndpointServesTheEngineMetrics) {
  ASSERT_FALSE(scrape_->empty()) << "no answer from the metrics endpoint";
  EXPECT_GT(metric_sum(*scrape_, "mm_ticks_total"), 20);
  EXPECT_GT(metric_sum(*scrape_, "mm_requests_total", {{"op", "place"}, {"code", "200"}}), 5);
  EXPECT_GT(metric_sum(*scrape_, "mm_request_latency_seconds_count", {{"op", "place"}}), 5);
  EXPECT_GT(metric_sum(*scrape_, "mm_ws_gap_ms_count"), 20);
  EXPECT_GT(metric_sum(*scrape_, "mm_dns_lookups_total"), 0);
  EXPECT_EQ(metric_sum(*scrape_, "mm_dns_failures_total"), 0);
  for (const char* name :
       {"mm_deadline_miss_total", "mm_reconnect_attempts_total", "mm_ws_seq_gaps_total",
        "mm_reconcile_discrepancies_total", "mm_dns_failures_total"})
    EXPECT_NE(scrape_->find(std::string("\n") + name), std::string::npos) << name;
  EXPECT_EQ(metric_sum(*scrape_, "mm_reconcile_discrepancies_total"), 0);
}

TEST_F(ReferenceCleanRun, SigtermEndsTheEngineWithinOneSecond) {
  ASSERT_TRUE(exit_status_.has_value()) << "still running 3 s after SIGTERM";
  EXPECT_EQ(*exit_status_, 0) << *engine_log_;
  EXPECT_LT(exit_ms_, 1000.0);
  // Latency percentiles per op are in the summary.
  const auto& place = (*stats_)["latency_ms"]["place"];
  EXPECT_GT(place["count"].get<uint64_t>(), 0u);
  EXPECT_LE(place["p50"].get<double>(), place["p95"].get<double>());
  EXPECT_LE(place["p95"].get<double>(), place["p99"].get<double>());
}

}  // namespace
}  // namespace reftest
