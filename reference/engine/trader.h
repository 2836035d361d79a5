// The market-making loop: every tick it places or cancels one order over REST (keeping up to
// max_open orders resting), reconciles with the exchange every N ticks, syncs the clock until
// that first succeeds and every 100 ticks after, and backs off on 429 (Retry-After), 5xx and
// connection errors.
#pragma once

#include <chrono>
#include <string>

#include "backoff.h"
#include "market_state.h"
#include "metrics.h"
#include "net.h"
#include "options.h"
#include "order_view.h"
#include "rest_client.h"

namespace refengine {

class Trader {
 public:
  // tls: the client context for https:// (outlives the trader); nullptr for http://.
  Trader(refnet::asio::any_io_executor ex, const EngineOptions& opts, const refcommon::Url& rest,
         Metrics& metrics, const MarketState& market, refnet::ssl::context* tls = nullptr);

  // Runs until the io_context stops.
  refnet::asio::awaitable<void> run();

 private:
  using Clock = std::chrono::steady_clock;

  refnet::asio::awaitable<void> tick();
  refnet::asio::awaitable<void> place();
  refnet::asio::awaitable<void> cancel(uint64_t order_id);
  refnet::asio::awaitable<bool> reconcile();
  refnet::asio::awaitable<void> sync_time();
  // One REST call with its metrics and the backoff bookkeeping.
  refnet::asio::awaitable<HttpResult> call(const std::string& op, refnet::http::verb verb,
                                           std::string target, std::string body = {});
  bool backing_off() const { return Clock::now() < backoff_until_; }
  void back_off(std::chrono::milliseconds d, const std::string& reason);

  refnet::asio::any_io_executor ex_;
  const EngineOptions& opts_;
  Metrics& metrics_;
  const MarketState& market_;
  RestClient client_;
  OrderView view_;
  Backoff server_backoff_;  // 5xx, and 429 without Retry-After
  Backoff conn_backoff_;    // connection errors
  Clock::time_point backoff_until_{};
  std::string backoff_reason_;
  uint64_t ticks_ = 0;
  uint64_t client_seq_ = 0;
  bool reconcile_due_ = false;
  bool buy_next_ = true;
  bool time_synced_ = false;
};

}  // namespace refengine
