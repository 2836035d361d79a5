#include "trader.h"

#include <charconv>
#include <cmath>
#include <iostream>
#include <nlohmann/json.hpp>

#include "clock.h"

namespace refengine {
using namespace refnet;
using nlohmann::json;

namespace {
constexpr uint64_t kTimeSyncEveryTicks = 100;
}

Trader::Trader(asio::any_io_executor ex, const EngineOptions& opts, const refcommon::Url& rest,
               Metrics& metrics, const MarketState& market, ssl::context* tls)
    : ex_(ex),
      opts_(opts),
      metrics_(metrics),
      market_(market),
      client_(ex, rest, metrics, std::chrono::milliseconds(opts.resolve_timeout_ms), tls),
      server_backoff_(std::chrono::milliseconds(opts.backoff_base_ms),
                      std::chrono::milliseconds(opts.backoff_max_ms)),
      conn_backoff_(std::chrono::milliseconds(opts.backoff_base_ms),
                    std::chrono::milliseconds(opts.backoff_max_ms)) {}

asio::awaitable<void> Trader::run() {
  const auto period = std::chrono::milliseconds(opts_.tick_ms);
  asio::steady_timer timer(ex_);
  auto next = Clock::now() + period;
  for (;;) {
    timer.expires_at(next);
    error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    co_await tick();
    next += period;
    // A tick that overran (slow requests) does not cause a burst of catch-up ticks.
    if (const auto now = Clock::now(); next < now) next += ((now - next) / period + 1) * period;
  }
}

void Trader::back_off(std::chrono::milliseconds d, const std::string& reason) {
  const auto until = Clock::now() + d;
  if (until > backoff_until_) {
    backoff_until_ = until;
    backoff_reason_ = reason;
  }
}

asio::awaitable<void> Trader::tick() {
  ++ticks_;
  metrics_.tick();
  if (ticks_ % static_cast<uint64_t>(opts_.reconcile_every_ticks) == 0) reconcile_due_ = true;
  if (backing_off()) {
    metrics_.backoff_skip(backoff_reason_);
    co_return;
  }
  if (!time_synced_ || ticks_ % kTimeSyncEveryTicks == 0) {
    co_await sync_time();
  } else if (view_.active() < static_cast<size_t>(opts_.max_open)) {
    co_await place();
  } else if (auto oldest = view_.oldest_active()) {
    co_await cancel(*oldest);
  }
  if (reconcile_due_ && !backing_off() && co_await reconcile()) reconcile_due_ = false;
  metrics_.open_orders(view_.size());
}

asio::awaitable<HttpResult> Trader::call(const std::string& op, http::verb verb, std::string target,
                                         std::string body) {
  HttpResult r = co_await client_.request(verb, std::move(target), std::move(body),
                                          std::chrono::milliseconds(opts_.deadline_ms));
  const std::string code = r.code();
  metrics_.request(
      op, code,
      r.kind == HttpResult::Kind::response ? std::optional<double>(r.seconds) : std::nullopt);
  switch (r.kind) {
    case HttpResult::Kind::timeout:
      // The connection was reset; the next request opens a new one at once.
      metrics_.deadline_miss(op);
      break;
    case HttpResult::Kind::error: {
      auto d = conn_backoff_.next();
      if (conn_backoff_.attempts() == 1 || conn_backoff_.attempts() % 10 == 0)
        std::cerr << "ref-engine: rest " << op << ": " << r.error << "; retrying in " << d.count()
                  << " ms\n";
      back_off(d, "conn_error");
      break;
    }
    case HttpResult::Kind::response:
      conn_backoff_.reset();
      if (r.status == 429) {
        const auto cap = std::chrono::milliseconds(opts_.retry_after_max_ms);
        back_off(r.retry_after ? std::min(*r.retry_after, cap) : server_backoff_.next(),
                 "rate_limited");
      } else if (r.status >= 500) {
        back_off(server_backoff_.next(), "server_error");
      } else {
        server_backoff_.reset();
      }
      break;
  }
  co_return r;
}

asio::awaitable<void> Trader::place() {
  const bool buy = buy_next_;
  const double mid = market_.valid ? (market_.bid + market_.ask) / 2 : 100.0;
  const double price = std::round((buy ? mid - 0.10 : mid + 0.10) * 100.0) / 100.0;
  const std::string client_id = opts_.client_prefix + "-" + std::to_string(++client_seq_);
  json body{{"symbol", opts_.symbol},
            {"side", buy ? "BUY" : "SELL"},
            {"price", price},
            {"qty", opts_.qty},
            {"client_id", client_id}};
  HttpResult r = co_await call("place", http::verb::post, "/api/v3/order", body.dump());
  if (r.kind != HttpResult::Kind::response || r.status != 200) co_return;
  buy_next_ = !buy;
  json res = json::parse(r.body, nullptr, false);
  if (res.is_object() && res.contains("order_id") && res["order_id"].is_number_unsigned())
    view_.add(OpenOrder{res["order_id"].get<uint64_t>(), client_id, false});
  else
    std::cerr << "ref-engine: place: unexpected response " << r.body.substr(0, 200) << "\n";
}

asio::awaitable<void> Trader::cancel(uint64_t order_id) {
  HttpResult r = co_await call("cancel", http::verb::delete_,
                               "/api/v3/order?order_id=" + std::to_string(order_id));
  if (r.kind == HttpResult::Kind::timeout) {
    view_.mark_cancel_pending(order_id);  // unknown outcome: reconciliation settles it
  } else if (r.kind == HttpResult::Kind::response && (r.status == 200 || r.status == 404)) {
    view_.remove(order_id);
  }
}

asio::awaitable<bool> Trader::reconcile() {
  HttpResult r =
      co_await call("open_orders", http::verb::get, "/api/v3/openOrders?symbol=" + opts_.symbol);
  if (r.kind != HttpResult::Kind::response || r.status != 200) co_return false;
  json list = json::parse(r.body, nullptr, false);
  if (!list.is_array()) co_return false;
  std::vector<OpenOrder> exchange;
  for (const auto& o : list) {
    if (!o.is_object() || !o.contains("order_id") || !o["order_id"].is_number_unsigned()) continue;
    exchange.push_back(
        OpenOrder{o["order_id"].get<uint64_t>(), o.value("client_id", std::string{}), false});
  }
  ReconcileDiff d = view_.reconcile(exchange);
  metrics_.reconcile_run();
  metrics_.discrepancies("missing_on_engine", d.missing_on_engine.size());
  metrics_.discrepancies("missing_on_exchange", d.missing_on_exchange.size());
  if (!d.missing_on_engine.empty() || !d.missing_on_exchange.empty())
    std::cerr << "ref-engine: reconcile: " << d.missing_on_engine.size() << " missing on engine, "
              << d.missing_on_exchange.size() << " missing on exchange; adopted the exchange's "
              << exchange.size() << " open orders\n";
  co_return true;
}

asio::awaitable<void> Trader::sync_time() {
  HttpResult r = co_await call("time", http::verb::get, "/api/v3/time");
  if (r.kind != HttpResult::Kind::response || r.status != 200) co_return;
  json res = json::parse(r.body, nullptr, false);
  if (!res.is_object() || !res.contains("serverTime") || !res["serverTime"].is_number()) co_return;
  const double server_s = res["serverTime"].get<double>() / 1000.0;
  const double local_s = static_cast<double>(refcommon::realtime_ns()) / 1e9;
  metrics_.clock_offset(server_s - local_s);
  time_synced_ = true;
}

}  // namespace refengine
