// mm_partial_fail_rate's window math.
#include "metrics/request_window.h"

#include <gtest/gtest.h>

namespace mmchaos {
namespace {

constexpr uint64_t kSec = 1000000000ULL;

Config TwoExchanges() {
  Config c;
  Exchange a, b;
  a.name = "testnet";
  a.order_requests = {"POST /api/v3/order"};
  Endpoint plain;
  plain.url = "http://10.0.0.2:80";
  a.rest = {plain};
  b.name = "binance";
  Endpoint tls;
  tls.url = "https://x";
  tls.tls = true;
  b.rest = {tls};
  c.target.exchanges = {a, b};
  return c;
}

const DataPlaneSnapshot::PartialFail* Find(const std::vector<DataPlaneSnapshot::PartialFail>& r,
                                           const std::string& exchange, const std::string& op) {
  for (const auto& f : r)
    if (f.exchange == exchange && f.op == op) return &f;
  return nullptr;
}

// Dashboards and alerts see 0, not "absent", before the first request: every label set the
// config names is there from the first scrape, before any sample.
TEST(RequestWindow, EveryNamedLabelSetFromTheFirstScrape) {
  RequestWindow w(TwoExchanges(), 10 * kSec);
  auto r = w.Rates();
  ASSERT_EQ(r.size(), 3u);
  for (auto [x, op] : {std::pair{"testnet", "POST /api/v3/order"}, std::pair{"testnet", "other"},
                       std::pair{"binance", "request"}}) {
    auto* f = Find(r, x, op);
    ASSERT_NE(f, nullptr) << x << " " << op;
    EXPECT_EQ(f->rate, 0.0);
  }
  w.Sample(ReqStats{}, 0);
  EXPECT_EQ(w.Rates().size(), 3u);
}

TEST(RequestWindow, ShareOfFailuresOverTheWindowOnly) {
  RequestWindow w(TwoExchanges(), 10 * kSec);
  ReqStats s{};
  w.Sample(s, 0);
  // 100 order requests, 30 failed, in the first 5 s...
  s[mmc_reqstat_slot(0, 0, 0)] = 100;
  s[mmc_reqstat_slot(0, 0, 1)] = 30;
  w.Sample(s, 5 * kSec);
  auto r = w.Rates();
  ASSERT_EQ(r.size(), 3u);
  ASSERT_NE(Find(r, "testnet", "POST /api/v3/order"), nullptr);
  EXPECT_DOUBLE_EQ(Find(r, "testnet", "POST /api/v3/order")->rate, 0.3);
  // ...then 100 clean ones; 16 s later the first burst has left the window.
  s[mmc_reqstat_slot(0, 0, 0)] = 200;
  w.Sample(s, 11 * kSec);
  w.Sample(s, 16 * kSec);
  r = w.Rates();
  ASSERT_NE(Find(r, "testnet", "POST /api/v3/order"), nullptr);
  EXPECT_DOUBLE_EQ(Find(r, "testnet", "POST /api/v3/order")->rate, 0.0);
}

TEST(RequestWindow, TlsExchangesCountEveryRequestAsRequest) {
  RequestWindow w(TwoExchanges(), 10 * kSec);
  ReqStats s{};
  w.Sample(s, 0);
  s[mmc_reqstat_slot(1, MMC_OP_OTHER, 0)] = 10;
  s[mmc_reqstat_slot(1, MMC_OP_OTHER, 1)] = 5;
  w.Sample(s, kSec);
  auto r = w.Rates();
  ASSERT_NE(Find(r, "binance", "request"), nullptr);
  EXPECT_DOUBLE_EQ(Find(r, "binance", "request")->rate, 0.5);
  EXPECT_EQ(Find(r, "binance", "POST /api/v3/order"), nullptr) << "TLS: no request lines";
}

// Accounted in the engine's TLS library (the uprobes), a TLS exchange's requests have their ops
// as on plaintext flows: its order requests by their line, the rest "other".
TEST(RequestWindow, TlsExchangesAccountedInTheLibraryHaveOps) {
  Config c = TwoExchanges();
  c.target.exchanges[1].order_requests = {"POST /fapi/v1/order"};
  RequestWindow w(c, 10 * kSec, /*tls_accounted=*/true);
  auto r = w.Rates();
  EXPECT_NE(Find(r, "binance", "POST /fapi/v1/order"), nullptr);
  EXPECT_NE(Find(r, "binance", "other"), nullptr);
  EXPECT_EQ(Find(r, "binance", "request"), nullptr);
  ReqStats s{};
  w.Sample(s, 0);
  s[mmc_reqstat_slot(1, 1, 0)] = 4;  // the second order line overall: binance's
  s[mmc_reqstat_slot(1, 1, 1)] = 1;
  w.Sample(s, kSec);
  r = w.Rates();
  ASSERT_NE(Find(r, "binance", "POST /fapi/v1/order"), nullptr);
  EXPECT_DOUBLE_EQ(Find(r, "binance", "POST /fapi/v1/order")->rate, 0.25);
}

// mm_rest_requests_total / mm_rest_request_failures_total: everything since the first sample,
// however long ago (the window does not apply), for the same label sets.
TEST(RequestWindow, TotalsSinceTheStart) {
  RequestWindow w(TwoExchanges(), 10 * kSec);
  auto t = w.Totals();
  EXPECT_EQ(t.size(), 3u) << "every named label set before the first sample";
  ReqStats s{};
  s[mmc_reqstat_slot(0, 0, 0)] = 7;  // before this controller's first sample: not its own
  w.Sample(s, 0);
  s[mmc_reqstat_slot(0, 0, 0)] = 107;
  s[mmc_reqstat_slot(0, 0, 1)] = 30;
  w.Sample(s, 5 * kSec);
  w.Sample(s, 60 * kSec);
  w.Sample(s, 61 * kSec);
  bool found = false;
  for (const auto& c : w.Totals())
    if (c.exchange == "testnet" && c.op == "POST /api/v3/order") {
      found = true;
      EXPECT_EQ(c.requests, 100u);
      EXPECT_EQ(c.failures, 30u);
    }
  EXPECT_TRUE(found);
}

}  // namespace
}  // namespace mmchaos
