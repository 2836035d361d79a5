#include "listener.h"

#include <iostream>

namespace refexchange {
using namespace refnet;

Listener::Listener(asio::io_context& ioc, const tcp::endpoint& ep, const char* name, Serve serve)
    : ioc_(ioc), acceptor_(ioc, ep, /*reuse_addr=*/true), name_(name), serve_(std::move(serve)) {
  port_ = acceptor_.local_endpoint().port();
}

void Listener::start() { asio::co_spawn(acceptor_.get_executor(), accept_loop(), asio::detached); }

void Listener::stop() {
  error_code ec;
  acceptor_.close(ec);
}

awaitable<void> Listener::accept_loop() {
  asio::steady_timer pause(acceptor_.get_executor());
  while (acceptor_.is_open()) {
    error_code ec;
    tcp::socket socket =
        co_await acceptor_.async_accept(asio::make_strand(ioc_), redirect_error(use_awaitable, ec));
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) break;
    if (ec) {  // e.g. out of descriptors: wait a little instead of spinning
      std::cerr << "mock-exchange: " << name_ << " accept: " << ec.message() << "\n";
      pause.expires_after(std::chrono::milliseconds(50));
      co_await pause.async_wait(redirect_error(use_awaitable, ec));
      continue;
    }
    auto ex = socket.get_executor();
    asio::co_spawn(ex, serve_(std::move(socket)), asio::detached);
  }
}

}  // namespace refexchange
