// The exchange's logic without sockets: token buckets, order state and the REST API.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "order_book.h"
#include "order_log.h"
#include "process.h"
#include "quote_feed.h"
#include "rest_api.h"
#include "token_bucket.h"

namespace refexchange {
namespace {
using namespace std::chrono_literals;
namespace http = refnet::http;

TEST(TokenBucket, AllowsTheBurstThenAsksToRetryLater) {
  const auto t0 = Clock::time_point{} + 100s;
  TokenBucket b(2.0, 2.0, t0);
  EXPECT_EQ(b.take(t0), 0);
  EXPECT_EQ(b.take(t0), 0);
  EXPECT_EQ(b.take(t0), 1);  // needs 0.5 s: Retry-After rounds up to whole seconds
  EXPECT_EQ(b.take(t0 + 400ms), 1);
  EXPECT_EQ(b.take(t0 + 500ms), 0);  // refilled one token
  EXPECT_EQ(b.take(t0 + 500ms), 1);
}

TEST(TokenBucket, RetryAfterCoversSlowRates) {
  const auto t0 = Clock::time_point{} + 100s;
  TokenBucket b(0.25, 1.0, t0);
  EXPECT_EQ(b.take(t0), 0);
  EXPECT_EQ(b.take(t0), 4);
  EXPECT_EQ(b.take(t0 + 1s), 3);
}

TEST(TokenBucket, NeverHoldsMoreThanTheBurst) {
  const auto t0 = Clock::time_point{} + 100s;
  TokenBucket b(10.0, 3.0, t0);
  const auto later = t0 + 60s;
  int admitted = 0;
  for (int i = 0; i < 10; ++i) admitted += b.take(later) == 0 ? 1 : 0;
  EXPECT_EQ(admitted, 3);
}

TEST(RateLimiter, KeepsOneBucketPerClientIp) {
  RateLimiter limiter(1.0, 1.0);
  const auto t0 = Clock::now();
  EXPECT_EQ(limiter.admit("10.0.0.1", t0), 0);
  EXPECT_GT(limiter.admit("10.0.0.1", t0), 0);
  EXPECT_EQ(limiter.admit("10.0.0.2", t0), 0);
  EXPECT_EQ(limiter.clients(), 2u);
}

TEST(RateLimiter, ZeroRateMeansUnlimited) {
  RateLimiter limiter(0, 1);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(limiter.admit("a"), 0);
}

TEST(OrderBook, AssignsIdsCancelsAndListsBySymbol) {
  OrderBook book;
  auto a = book.place({0, "c1", "BTCUSDT", "BUY", 1, 1, 0});
  auto b = book.place({0, "c2", "ETHUSDT", "SELL", 2, 1, 0});
  EXPECT_EQ(a.order_id, 1u);
  EXPECT_EQ(b.order_id, 2u);
  EXPECT_EQ(book.open_orders().size(), 2u);
  ASSERT_EQ(book.open_orders("ETHUSDT").size(), 1u);
  EXPECT_EQ(book.open_orders("ETHUSDT")[0].client_id, "c2");
  EXPECT_TRUE(book.cancel(1).has_value());
  EXPECT_FALSE(book.cancel(1).has_value());
  EXPECT_EQ(book.size(), 1u);
}

TEST(QueryParam, FindsKeysAndIgnoresPrefixes) {
  EXPECT_EQ(query_param("/a?order_id=12&x=1", "order_id"), "12");
  EXPECT_EQ(query_param("/a?xorder_id=3&order_id=4", "order_id"), "4");
  EXPECT_EQ(query_param("/a?x=1", "order_id"), "");
  EXPECT_EQ(query_param("/a", "order_id"), "");
}

TEST(QuoteFeed, BidBelowAskAndMessagesCarrySeq) {
  QuoteFeed feed(7);
  for (int i = 0; i < 1000; ++i) {
    Quote q = feed.next();
    ASSERT_LT(q.bid, q.ask);
    ASSERT_GT(q.bid, 0);
  }
  auto msg = nlohmann::json::parse(market_data_message(5, 123, "BTCUSDT", {1.0, 1.02}));
  EXPECT_EQ(msg["seq"], 5);
  EXPECT_EQ(msg["ts_ns"], 123);
  EXPECT_EQ(msg["bid"], 1.0);
}

class RestApiTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(log_.open(dir_.file("orders.jsonl"), nullptr)); }

  Reply call(RestApi& api, http::verb verb, const std::string& target, const std::string& body = {},
             const std::string& peer = "127.0.0.1") {
    Request req{verb, target, 11};
    req.body() = body;
    req.prepare_payload();
    return api.handle(req, peer);
  }
  std::vector<nlohmann::json> log_lines() {
    std::vector<nlohmann::json> out;
    std::ifstream in(dir_.file("orders.jsonl"));
    std::string line;
    while (std::getline(in, line)) out.push_back(nlohmann::json::parse(line));
    return out;
  }

  reftest::TempDir dir_;
  OrderBook book_;
  RateLimiter unlimited_{0, 1};
  OrderLog log_;
};

TEST_F(RestApiTest, PlaceListCancel) {
  RestApi api(book_, unlimited_, log_);
  auto r =
      call(api, http::verb::post, "/api/v3/order",
           R"({"symbol":"BTCUSDT","side":"buy","price":"100.5","qty":0.01,"client_id":"e-1"})");
  ASSERT_EQ(r.res.result(), http::status::ok) << r.res.body();
  auto placed = nlohmann::json::parse(r.res.body());
  EXPECT_EQ(placed["order_id"], 1);
  EXPECT_EQ(placed["status"], "NEW");
  EXPECT_EQ(r.res[http::field::content_type], "application/json");

  r = call(api, http::verb::get, "/api/v3/openOrders");
  auto list = nlohmann::json::parse(r.res.body());
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["side"], "BUY");
  EXPECT_EQ(list[0]["price"], 100.5);
  EXPECT_EQ(list[0]["client_id"], "e-1");

  EXPECT_EQ(call(api, http::verb::delete_, "/api/v3/order?order_id=1").res.result(),
            http::status::ok);
  EXPECT_EQ(call(api, http::verb::delete_, "/api/v3/order?order_id=1").res.result(),
            http::status::not_found);
  EXPECT_EQ(nlohmann::json::parse(call(api, http::verb::get, "/api/v3/openOrders").res.body()),
            nlohmann::json::array());

  auto lines = log_lines();
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0]["op"], "place");
  EXPECT_EQ(lines[0]["order_id"], 1);
  EXPECT_EQ(lines[0]["client_id"], "e-1");
  EXPECT_TRUE(lines[0].contains("ts"));
  EXPECT_EQ(lines[1]["op"], "cancel");
  EXPECT_EQ(lines[1]["found"], true);
  EXPECT_EQ(lines[2]["found"], false);
}

TEST_F(RestApiTest, RejectsBadRequests) {
  RestApi api(book_, unlimited_, log_);
  auto status = [&](http::verb v, const std::string& target, const std::string& body = {}) {
    return call(api, v, target, body).res.result();
  };
  EXPECT_EQ(status(http::verb::post, "/api/v3/order", "not json"), http::status::bad_request);
  EXPECT_EQ(status(http::verb::post, "/api/v3/order", R"({"symbol":"X"})"),
            http::status::bad_request);
  EXPECT_EQ(status(http::verb::post, "/api/v3/order",
                   R"({"symbol":"X","side":"UP","price":1,"qty":1,"client_id":"c"})"),
            http::status::bad_request);
  EXPECT_EQ(status(http::verb::post, "/api/v3/order",
                   R"({"symbol":"X","side":"SELL","price":-1,"qty":1,"client_id":"c"})"),
            http::status::bad_request);
  EXPECT_EQ(status(http::verb::delete_, "/api/v3/order?order_id=abc"), http::status::bad_request);
  EXPECT_EQ(status(http::verb::get, "/api/v3/order"), http::status::method_not_allowed);
  EXPECT_EQ(status(http::verb::get, "/nope"), http::status::not_found);
  EXPECT_EQ(book_.size(), 0u);
}

TEST_F(RestApiTest, TimeIsMillisecondsSinceTheEpoch) {
  RestApi api(book_, unlimited_, log_);
  auto body = nlohmann::json::parse(call(api, http::verb::get, "/api/v3/time").res.body());
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  EXPECT_NEAR(body["serverTime"].get<double>(), static_cast<double>(now_ms), 5000);
}

TEST_F(RestApiTest, OverTheRateAnswers429WithRetryAfter) {
  RateLimiter limiter(1.0, 2.0);
  RestApi api(book_, limiter, log_);
  EXPECT_EQ(call(api, http::verb::get, "/api/v3/time").res.result(), http::status::ok);
  EXPECT_EQ(call(api, http::verb::get, "/api/v3/time").res.result(), http::status::ok);
  auto r = call(api, http::verb::get, "/api/v3/time");
  EXPECT_EQ(r.res.result(), http::status::too_many_requests);
  EXPECT_EQ(r.res[http::field::retry_after], "1");
  // Another client still has its own tokens.
  EXPECT_EQ(call(api, http::verb::get, "/api/v3/time", "", "127.0.0.2").res.result(),
            http::status::ok);
  auto lines = log_lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["op"], "rate_limited");
  EXPECT_EQ(lines[0]["retry_after"], 1);
}

TEST_F(RestApiTest, FaultHooks) {
  RestApi api(book_, unlimited_, log_, FaultConfig{2, 300, 3});
  const std::string body = R"({"symbol":"X","side":"BUY","price":1,"qty":1,"client_id":"c"})";
  auto r1 = call(api, http::verb::post, "/api/v3/order", body);  // place 1
  auto r2 = call(api, http::verb::post, "/api/v3/order", body);  // place 2: slow
  auto r3 = call(api, http::verb::post, "/api/v3/order", body);  // 3rd request: 503
  EXPECT_EQ(r1.delay.count(), 0);
  EXPECT_EQ(r2.res.result(), http::status::ok);
  EXPECT_EQ(r2.delay.count(), 300);
  EXPECT_EQ(r3.res.result(), http::status::service_unavailable);
  EXPECT_EQ(book_.size(), 2u);  // the slow one was created, the failed one not
}

TEST_F(RestApiTest, LatencyHoldsEveryAnswer) {
  RestApi api(book_, unlimited_, log_, FaultConfig{2, 300, 0, 20});
  const std::string body = R"({"symbol":"X","side":"BUY","price":1,"qty":1,"client_id":"c"})";
  EXPECT_EQ(call(api, http::verb::get, "/api/v3/time").delay.count(), 20);
  EXPECT_EQ(call(api, http::verb::post, "/api/v3/order", body).delay.count(), 20);
  EXPECT_EQ(call(api, http::verb::post, "/api/v3/order", body).delay.count(), 320);  // slow too
  EXPECT_EQ(call(api, http::verb::get, "/api/v3/nope").delay.count(), 20);
}

}  // namespace
}  // namespace refexchange
