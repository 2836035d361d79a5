// The market-data WebSocket (ws:// or wss://): after the upgrade on `path` (default /ws) each
// connection gets a text message every tick with its own strictly increasing seq (1, 2, ...). A
// connection that falls more than `conflate_after` behind (a slow consumer) loses the missed ticks,
// as on real exchanges, which shows up as a seq gap.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "listener.h"
#include "net.h"

namespace refexchange {

struct FeedConfig {
  std::chrono::milliseconds tick{50};
  std::chrono::milliseconds conflate_after{1000};
  std::string symbol = "BTCUSDT";
  std::string path = "/ws";
  int skip_every = 0;  // test hook: leave out every Nth seq (0 = never)
};

class WsServer : public Listener {
 public:
  // tls: serve wss:// with this context (outlives the server); nullptr: ws://.
  WsServer(refnet::asio::io_context& ioc, const refnet::tcp::endpoint& ep, FeedConfig cfg,
           refnet::ssl::context* tls = nullptr);

 private:
  FeedConfig cfg_;
  refnet::ssl::context* tls_;
  uint64_t connections_ = 0;
};

}  // namespace refexchange
