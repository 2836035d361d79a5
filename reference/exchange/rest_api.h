// The exchange's REST API as a function from a parsed HTTP request to a response: routing,
// rate limiting, validation, order state and the order log. No I/O here (rest_server.cpp does
// the sockets), so it is unit-tested directly.
//
//   POST   /api/v3/order               {symbol, side, price, qty, client_id} -> 200 {order_id,
//   status} DELETE /api/v3/order?order_id=N    -> 200 {order_id, status:"CANCELED"} | 404 GET
//   /api/v3/openOrders[?symbol=S] -> 200 [order...] GET    /api/v3/time                -> 200
//   {serverTime}  (ms since the epoch)
// Over the client IP's rate: 429 with Retry-After (seconds).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

#include "net.h"
#include "order_book.h"
#include "order_log.h"
#include "token_bucket.h"

namespace refexchange {

// Test hooks that make the exchange misbehave on its own (the real faults come from the kernel).
struct FaultConfig {
  int slow_place_every = 0;  // every Nth accepted place answers only after slow_ms (0 = never)
  int slow_ms = 0;
  int fail_every = 0;  // every Nth admitted request answers 503 without doing anything (0 = never)
  int latency_ms = 0;  // every answer is held this long: an exchange's processing + network time
};

using Request = refnet::http::request<refnet::http::string_body>;
using Response = refnet::http::response<refnet::http::string_body>;

struct Reply {
  Response res;
  std::chrono::milliseconds delay{0};  // hold the response this long before sending it
};

class RestApi {
 public:
  RestApi(OrderBook& book, RateLimiter& limiter, OrderLog& log, FaultConfig faults = {});

  Reply handle(const Request& req, const std::string& peer_ip);

 private:
  Reply dispatch(const Request& req, const std::string& peer_ip);
  Reply place(const Request& req, const std::string& peer_ip);
  Reply cancel(const Request& req, const std::string& peer_ip);
  Reply open_orders(const Request& req);
  Reply server_time(const Request& req);

  OrderBook& book_;
  RateLimiter& limiter_;
  OrderLog& log_;
  FaultConfig faults_;
  std::atomic<uint64_t> admitted_{0};
  std::atomic<uint64_t> placed_{0};
};

// The value of `key` in the query string of `target` ("/p?a=1&b=2"), or "" when absent.
std::string query_param(std::string_view target, std::string_view key);

}  // namespace refexchange
