// Consumes the exchange's market-data WebSocket (ws:// or wss://): checks each message's seq,
// measures the time between messages and the exchange-to-receipt delay, keeps the latest quote, and
// reconnects with capped exponential backoff whenever the connection closes, resets, errs or goes
// idle.
#pragma once

#include <chrono>

#include "backoff.h"
#include "market_state.h"
#include "metrics.h"
#include "net.h"
#include "options.h"
#include "seq_tracker.h"
#include "tls.h"
#include "url.h"

namespace refengine {

class WsConsumer {
 public:
  // tls: the client context for wss:// (outlives the consumer); nullptr for ws://.
  WsConsumer(refnet::asio::any_io_executor ex, const EngineOptions& opts, refcommon::Url url,
             Metrics& metrics, MarketState& market, refnet::ssl::context* tls = nullptr);

  // Runs until the io_context stops.
  refnet::asio::awaitable<void> run();

 private:
  // One connection, from resolving to its end. True when at least one message arrived.
  refnet::asio::awaitable<bool> session();
  // The upgrade and the messages on a connected stream (TCP, or TLS after its handshake).
  template <class WsStream>
  refnet::asio::awaitable<bool> consume(WsStream& ws);

  refnet::asio::any_io_executor ex_;
  const EngineOptions& opts_;
  refcommon::Url url_;
  Metrics& metrics_;
  MarketState& market_;
  SeqTracker seq_;
  refnet::ssl::context* tls_;
};

}  // namespace refengine
