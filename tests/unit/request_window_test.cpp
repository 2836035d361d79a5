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

TEST(RequestWindow, ShareOfFailuresOverTheWindowOnly) {
  RequestWindow w(TwoExchanges(), 10 * kSec);
  ReqStats s{};
  w.Sample(s, 0);
  // 100 order requests, 30 failed, in the first 5 s...
  s[mmc_reqstat_slot(0, 0, 0)] = 100;
  s[mmc_reqstat_slot(0, 0, 1)] = 30;
  w.Sample(s, 5 * kSec);
  auto r = w.Rates();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].exchange, "testnet");
  EXPECT_EQ(r[0].op, "POST /api/v3/order");
  EXPECT_DOUBLE_EQ(r[0].rate, 0.3);
  // ...then 100 clean ones; 16 s later the first burst has left the window.
  s[mmc_reqstat_slot(0, 0, 0)] = 200;
  w.Sample(s, 11 * kSec);
  w.Sample(s, 16 * kSec);
  r = w.Rates();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_DOUBLE_EQ(r[0].rate, 0.0);
}

TEST(RequestWindow, TlsExchangesCountEveryRequestAsRequest) {
  RequestWindow w(TwoExchanges(), 10 * kSec);
  ReqStats s{};
  w.Sample(s, 0);
  s[mmc_reqstat_slot(1, MMC_OP_OTHER, 0)] = 10;
  s[mmc_reqstat_slot(1, MMC_OP_OTHER, 1)] = 5;
  w.Sample(s, kSec);
  auto r = w.Rates();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].exchange, "binance");
  EXPECT_EQ(r[0].op, "request");
  EXPECT_DOUBLE_EQ(r[0].rate, 0.5);
}

}  // namespace
}  // namespace mmchaos
