#include "ws_consumer.h"

#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>

#include "clock.h"
#include "name_resolver.h"

namespace refengine {
using namespace refnet;
using asio::redirect_error;
using asio::use_awaitable;
using Clock = std::chrono::steady_clock;

WsConsumer::WsConsumer(asio::any_io_executor ex, const EngineOptions& opts, refcommon::Url url,
                       Metrics& metrics, MarketState& market, ssl::context* tls)
    : ex_(std::move(ex)),
      opts_(opts),
      url_(std::move(url)),
      metrics_(metrics),
      market_(market),
      tls_(tls) {}

asio::awaitable<void> WsConsumer::run() {
  Backoff backoff(std::chrono::milliseconds(opts_.backoff_base_ms),
                  std::chrono::milliseconds(opts_.backoff_max_ms));
  asio::steady_timer timer(ex_);
  bool first = true;
  for (;;) {
    if (!first) metrics_.reconnect_attempt("ws");
    first = false;
    if (co_await session()) backoff.reset();
    const auto d = backoff.next();
    if (backoff.attempts() == 1 || backoff.attempts() % 10 == 0)
      std::cerr << "ref-engine: ws reconnecting in " << d.count() << " ms\n";
    timer.expires_after(d);
    error_code ec;
    co_await timer.async_wait(redirect_error(use_awaitable, ec));
    if (ec) co_return;
  }
}

asio::awaitable<bool> WsConsumer::session() {
  Resolution res =
      co_await resolve(url_.host, url_.port, std::chrono::milliseconds(opts_.resolve_timeout_ms));
  metrics_.dns_lookup(res.ok(), res.seconds);
  if (!res.ok()) {
    std::cerr << "ref-engine: ws resolve " << url_.host << ": " << res.error << "\n";
    co_return false;
  }
  const auto connect_timeout = std::chrono::milliseconds(std::max(opts_.ws_idle_ms, 1000));
  error_code ec;
  if (!tls_) {
    websocket::stream<beast::tcp_stream> ws(ex_);
    auto& tcp_layer = beast::get_lowest_layer(ws);
    tcp_layer.expires_after(connect_timeout);
    co_await tcp_layer.async_connect(res.endpoints, redirect_error(use_awaitable, ec));
    if (ec) co_return false;
    co_return co_await consume(ws);
  }
  websocket::stream<TlsStream> ws(ex_, *tls_);
  auto& tcp_layer = beast::get_lowest_layer(ws);
  tcp_layer.expires_after(connect_timeout);
  co_await tcp_layer.async_connect(res.endpoints, redirect_error(use_awaitable, ec));
  if (ec) co_return false;
  refcommon::prepare_client_stream(ws.next_layer(), url_.host);
  co_await ws.next_layer().async_handshake(ssl::stream_base::client,
                                           redirect_error(use_awaitable, ec));
  if (ec) {
    std::cerr << "ref-engine: ws tls handshake: " << ec.message() << "\n";
    co_return false;
  }
  co_return co_await consume(ws);
}

template <class WsStream>
asio::awaitable<bool> WsConsumer::consume(WsStream& ws) {
  auto& tcp_layer = beast::get_lowest_layer(ws);
  error_code ec;
  tcp_layer.socket().set_option(tcp::no_delay(true), ec);
  tcp_layer.expires_never();  // the websocket's own timeouts take over
  websocket::stream_base::timeout timeouts{};
  timeouts.handshake_timeout = std::chrono::milliseconds(std::max(opts_.ws_idle_ms, 1000));
  timeouts.idle_timeout = std::chrono::milliseconds(opts_.ws_idle_ms);  // no data -> dead
  timeouts.keep_alive_pings = false;
  ws.set_option(timeouts);
  ws.set_option(websocket::stream_base::decorator(
      [](websocket::request_type& req) { req.set(http::field::user_agent, "ref-engine"); }));
  co_await ws.async_handshake(url_.host_header(), url_.target, redirect_error(use_awaitable, ec));
  if (ec) {
    std::cerr << "ref-engine: ws handshake: " << ec.message() << "\n";
    co_return false;
  }
  metrics_.ws_connected();
  seq_.reset();
  bool got_data = false;
  std::optional<Clock::time_point> last;
  beast::flat_buffer buffer;
  for (;;) {
    co_await ws.async_read(buffer, redirect_error(use_awaitable, ec));
    if (ec) break;
    const auto now = Clock::now();
    const int64_t now_ns = refcommon::realtime_ns();
    auto msg = nlohmann::json::parse(beast::buffers_to_string(buffer.data()), nullptr, false);
    buffer.consume(buffer.size());
    if (!msg.is_object() || !msg.contains("seq") || !msg["seq"].is_number_unsigned()) continue;
    got_data = true;
    const auto r = seq_.on_message(msg["seq"].get<uint64_t>());
    if (r.missed > 0) metrics_.ws_seq_gap(r.missed);
    if (r.out_of_order) metrics_.ws_out_of_order();
    std::optional<double> gap_ms;
    if (last) gap_ms = std::chrono::duration<double, std::milli>(now - *last).count();
    last = now;
    const int64_t ts_ns = msg.value("ts_ns", int64_t{0});
    metrics_.ws_message(gap_ms, ts_ns > 0 ? static_cast<double>(now_ns - ts_ns) / 1e6 : 0.0);
    if (msg.contains("bid") && msg.contains("ask") && msg["bid"].is_number() &&
        msg["ask"].is_number()) {
      market_ = MarketState{msg["bid"].get<double>(), msg["ask"].get<double>(), ts_ns, true};
    }
  }
  std::cerr << "ref-engine: ws connection ended: " << ec.message() << "\n";
  co_return got_data;
}

}  // namespace refengine
