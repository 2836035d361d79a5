#include "ws_server.h"

#include <memory>

#include "clock.h"
#include "quote_feed.h"

namespace refexchange {
using namespace refnet;

namespace {

// Reads (and drops) what the client sends so that pings and the close handshake are answered;
// ends when the connection does.
template <class WsStream>
awaitable<void> drain(std::shared_ptr<WsStream> ws) {
  beast::flat_buffer buffer;
  error_code ec;
  for (;;) {
    co_await ws->async_read(buffer, redirect_error(use_awaitable, ec));
    if (ec) break;
    buffer.consume(buffer.size());
  }
}

template <class WsStream>
awaitable<void> stream_quotes(std::shared_ptr<WsStream> ws, FeedConfig cfg, uint64_t seed) {
  QuoteFeed feed(seed);
  asio::steady_timer timer(ws->get_executor());
  error_code ec;
  uint64_t seq = 0;
  auto next = std::chrono::steady_clock::now() + cfg.tick;
  for (;;) {
    timer.expires_at(next);
    co_await timer.async_wait(redirect_error(use_awaitable, ec));
    if (ec) break;
    const auto behind = std::chrono::steady_clock::now() - next;
    if (behind > cfg.conflate_after) {  // slow consumer: drop what it missed
      const auto missed = behind / cfg.tick;
      seq += static_cast<uint64_t>(missed);
      next += missed * cfg.tick;
    }
    ++seq;
    if (cfg.skip_every > 0 && seq % static_cast<uint64_t>(cfg.skip_every) == 0) ++seq;
    const std::string msg =
        market_data_message(seq, refcommon::realtime_ns(), cfg.symbol, feed.next());
    co_await ws->async_write(asio::buffer(msg), redirect_error(use_awaitable, ec));
    if (ec) break;
    next += cfg.tick;
  }
  beast::get_lowest_layer(*ws).close();
}

// The upgrade and the feed, the same over TCP and TLS (`ws` wraps a connected, handshaken
// stream).
template <class WsStream>
awaitable<void> serve_feed(std::shared_ptr<WsStream> ws, FeedConfig cfg, uint64_t seed) {
  beast::tcp_stream& tcp_layer = beast::get_lowest_layer(*ws);
  beast::flat_buffer buffer;
  http::request<http::string_body> req;
  error_code ec;
  tcp_layer.expires_after(std::chrono::seconds(10));
  co_await http::async_read(ws->next_layer(), buffer, req, redirect_error(use_awaitable, ec));
  if (ec) co_return;
  if (!websocket::is_upgrade(req) || req.target() != cfg.path) {
    http::response<http::string_body> res{http::status::not_found, req.version()};
    res.set(http::field::content_type, "application/json");
    res.keep_alive(false);
    res.body() = R"({"error":"websocket upgrade on )" + cfg.path + R"( only"})";
    res.prepare_payload();
    co_await http::async_write(ws->next_layer(), res, redirect_error(use_awaitable, ec));
    tcp_layer.close();
    co_return;
  }
  tcp_layer.expires_never();
  ws->set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
  ws->set_option(websocket::stream_base::decorator(
      [](websocket::response_type& res) { res.set(http::field::server, "mock-exchange"); }));
  co_await ws->async_accept(req, redirect_error(use_awaitable, ec));
  if (ec) co_return;
  ws->text(true);
  asio::co_spawn(ws->get_executor(), drain(ws), asio::detached);
  co_await stream_quotes(ws, cfg, seed);
}

awaitable<void> serve(tcp::socket socket, FeedConfig cfg, uint64_t seed, ssl::context* tls) {
  if (!tls) {
    co_await serve_feed(std::make_shared<websocket::stream<beast::tcp_stream>>(std::move(socket)),
                        std::move(cfg), seed);
    co_return;
  }
  auto ws = std::make_shared<websocket::stream<TlsStream>>(std::move(socket), *tls);
  error_code ec;
  beast::get_lowest_layer(*ws).expires_after(std::chrono::seconds(10));
  co_await ws->next_layer().async_handshake(ssl::stream_base::server,
                                            redirect_error(use_awaitable, ec));
  if (ec) co_return;
  co_await serve_feed(ws, std::move(cfg), seed);
}

}  // namespace

WsServer::WsServer(asio::io_context& ioc, const tcp::endpoint& ep, FeedConfig cfg,
                   ssl::context* tls)
    : Listener(ioc, ep, "ws",
               [this](tcp::socket socket) {
                 return serve(std::move(socket), cfg_, ++connections_, tls_);
               }),
      cfg_(std::move(cfg)),
      tls_(tls) {}

}  // namespace refexchange
