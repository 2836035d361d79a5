// What the REST and WebSocket servers share: a listening socket that accepts until stopped and
// hands each connection, on its own strand, to the server's coroutine.
#pragma once

#include <cstdint>
#include <functional>

#include "net.h"

namespace refexchange {

class Listener {
 public:
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  uint16_t port() const { return port_; }
  void start();
  void stop();

 protected:
  // Serves one accepted connection.
  using Serve = std::function<refnet::asio::awaitable<void>(refnet::tcp::socket)>;

  // Binds and listens at once (throws boost::system::system_error on failure); port 0 picks one.
  // name: the server's in the accept errors' lines ("rest", "ws").
  Listener(refnet::asio::io_context& ioc, const refnet::tcp::endpoint& ep, const char* name,
           Serve serve);
  ~Listener() = default;

 private:
  refnet::asio::awaitable<void> accept_loop();

  refnet::asio::io_context& ioc_;
  refnet::tcp::acceptor acceptor_;
  const char* name_;
  Serve serve_;
  uint16_t port_ = 0;
};

}  // namespace refexchange
