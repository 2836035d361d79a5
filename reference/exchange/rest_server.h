// HTTP/1.1 with keep-alive, over plain TCP or TLS: accepts connections and serves each with
// RestApi, one coroutine per connection on its own strand.
#pragma once

#include <cstdint>

#include "net.h"
#include "rest_api.h"

namespace refexchange {

class RestServer {
 public:
  // Binds and listens at once (throws boost::system::system_error on failure); port 0 picks one.
  // tls: serve HTTPS with this context (outlives the server); nullptr: plaintext.
  RestServer(refnet::asio::io_context& ioc, const refnet::tcp::endpoint& ep, RestApi& api,
             refnet::ssl::context* tls = nullptr);
  uint16_t port() const { return port_; }
  void start();
  void stop();

 private:
  refnet::asio::awaitable<void> accept_loop();

  refnet::asio::io_context& ioc_;
  refnet::tcp::acceptor acceptor_;
  RestApi& api_;
  refnet::ssl::context* tls_;
  uint16_t port_ = 0;
};

}  // namespace refexchange
