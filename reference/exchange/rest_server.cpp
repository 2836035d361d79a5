#include "rest_server.h"

namespace refexchange {
using namespace refnet;

namespace {

constexpr auto kIdleTimeout = std::chrono::seconds(60);
constexpr auto kHandshakeTimeout = std::chrono::seconds(10);

// The request loop, the same over TCP and TLS.
template <class Stream>
awaitable<void> serve_requests(Stream& stream, RestApi& api, const std::string& peer) {
  beast::flat_buffer buffer;
  asio::steady_timer delay_timer(stream.get_executor());
  error_code ec;
  for (;;) {
    Request req;
    beast::get_lowest_layer(stream).expires_after(kIdleTimeout);
    co_await http::async_read(stream, buffer, req, redirect_error(use_awaitable, ec));
    if (ec) break;  // closed by the peer, idle timeout, garbage: drop the connection
    Reply reply = api.handle(req, peer);
    if (reply.delay.count() > 0) {
      delay_timer.expires_after(reply.delay);
      co_await delay_timer.async_wait(redirect_error(use_awaitable, ec));
    }
    const bool keep_alive = reply.res.keep_alive();
    beast::get_lowest_layer(stream).expires_after(kIdleTimeout);
    co_await http::async_write(stream, reply.res, redirect_error(use_awaitable, ec));
    if (ec || !keep_alive) break;
  }
}

awaitable<void> serve(tcp::socket socket, RestApi& api, ssl::context* tls) {
  error_code ec;
  const auto remote = socket.remote_endpoint(ec);
  const std::string peer = ec ? std::string("unknown") : remote.address().to_string();
  if (!tls) {
    beast::tcp_stream stream(std::move(socket));
    co_await serve_requests(stream, api, peer);
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream.close();
    co_return;
  }
  TlsStream stream(beast::tcp_stream(std::move(socket)), *tls);
  beast::get_lowest_layer(stream).expires_after(kHandshakeTimeout);
  co_await stream.async_handshake(ssl::stream_base::server, redirect_error(use_awaitable, ec));
  if (!ec) {
    co_await serve_requests(stream, api, peer);
    // close_notify, bounded: a peer that vanished must not hold the coroutine.
    beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(1));
    co_await stream.async_shutdown(redirect_error(use_awaitable, ec));
  }
  beast::get_lowest_layer(stream).close();
}

}  // namespace

RestServer::RestServer(asio::io_context& ioc, const tcp::endpoint& ep, RestApi& api,
                       ssl::context* tls)
    : Listener(ioc, ep, "rest",
               [this](tcp::socket socket) { return serve(std::move(socket), api_, tls_); }),
      api_(api),
      tls_(tls) {}

}  // namespace refexchange
