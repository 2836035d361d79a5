// Consumes the exchange's market-data WebSocket: checks each message's seq, measures the time
// between messages and the exchange-to-receipt delay, keeps the latest quote, and reconnects
// with capped exponential backoff whenever the connection closes, resets, errs or goes idle.
#pragma once

#include <chrono>

#include "backoff.h"
#include "market_state.h"
#include "metrics.h"
#include "net.h"
#include "options.h"
#include "seq_tracker.h"
#include "url.h"

namespace refengine {

class WsConsumer {
 public:
  WsConsumer(refnet::asio::any_io_executor ex, const EngineOptions& opts, refcommon::Url url,
             Metrics& metrics, MarketState& market);

  // Runs until the io_context stops.
  refnet::asio::awaitable<void> run();

 private:
  // One connection, from resolving to its end. True when at least one message arrived.
  refnet::asio::awaitable<bool> session();

  refnet::asio::any_io_executor ex_;
  const EngineOptions& opts_;
  refcommon::Url url_;
  Metrics& metrics_;
  MarketState& market_;
  SeqTracker seq_;
};

}  // namespace refengine
