// HTTP/1.1 over plain TCP with keep-alive: accepts connections and serves each with RestApi,
// one coroutine per connection on its own strand.
#pragma once

#include <cstdint>

#include "net.h"
#include "rest_api.h"

namespace refexchange {

class RestServer {
 public:
  // Binds and listens at once (throws boost::system::system_error on failure); port 0 picks one.
  RestServer(refnet::asio::io_context& ioc, const refnet::tcp::endpoint& ep, RestApi& api);
  uint16_t port() const { return port_; }
  void start();
  void stop();

 private:
  refnet::asio::awaitable<void> accept_loop();

  refnet::asio::io_context& ioc_;
  refnet::tcp::acceptor acceptor_;
  RestApi& api_;
  uint16_t port_ = 0;
};

}  // namespace refexchange
