// HTTP/1.1 with keep-alive, over plain TCP or TLS: accepts connections and serves each with
// RestApi, one coroutine per connection on its own strand.
#pragma once

#include <cstdint>

#include "listener.h"
#include "net.h"
#include "rest_api.h"

namespace refexchange {

class RestServer : public Listener {
 public:
  // Binds and listens at once (throws boost::system::system_error on failure); port 0 picks one.
  // tls: serve HTTPS with this context (outlives the server); nullptr: plaintext.
  RestServer(refnet::asio::io_context& ioc, const refnet::tcp::endpoint& ep, RestApi& api,
             refnet::ssl::context* tls = nullptr);

 private:
  RestApi& api_;
  refnet::ssl::context* tls_;
};

}  // namespace refexchange
