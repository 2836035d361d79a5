#include "rest_api.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <optional>

#include "clock.h"

namespace refexchange {
namespace http = refnet::http;
using nlohmann::json;

namespace {

Reply json_reply(const Request& req, http::status status, const json& body) {
  Response res{status, req.version()};
  res.set(http::field::server, "mock-exchange");
  res.set(http::field::content_type, "application/json");
  res.keep_alive(req.keep_alive());
  res.body() = body.dump();
  res.prepare_payload();
  return Reply{std::move(res), {}};
}

Reply error_reply(const Request& req, http::status status, const std::string& msg) {
  return json_reply(req, status, json{{"error", msg}});
}

std::string_view path_of(std::string_view target) { return target.substr(0, target.find('?')); }

// A positive number given as a JSON number or a numeric string (exchanges accept both).
std::optional<double> positive_number(const json& body, const char* key) {
  auto it = body.find(key);
  if (it == body.end()) return std::nullopt;
  double v = 0;
  if (it->is_number()) {
    v = it->get<double>();
  } else if (it->is_string()) {
    const auto& s = it->get_ref<const std::string&>();
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
  } else {
    return std::nullopt;
  }
  if (!(v > 0)) return std::nullopt;
  return v;
}

std::optional<std::string> nonempty_string(const json& body, const char* key) {
  auto it = body.find(key);
  if (it == body.end() || !it->is_string() || it->get_ref<const std::string&>().empty())
    return std::nullopt;
  return it->get<std::string>();
}

}  // namespace

std::string query_param(std::string_view target, std::string_view key) {
  auto q = target.find('?');
  if (q == std::string_view::npos) return {};
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    auto amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    auto eq = pair.find('=');
    if (pair.substr(0, eq) == key)
      return eq == std::string_view::npos ? std::string{} : std::string(pair.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    rest = rest.substr(amp + 1);
  }
  return {};
}

RestApi::RestApi(OrderBook& book, RateLimiter& limiter, OrderLog& log, FaultConfig faults)
    : book_(book), limiter_(limiter), log_(log), faults_(faults) {}

Reply RestApi::handle(const Request& req, const std::string& peer_ip) {
  Reply r = dispatch(req, peer_ip);
  r.delay += std::chrono::milliseconds(faults_.latency_ms);
  return r;
}

Reply RestApi::dispatch(const Request& req, const std::string& peer_ip) {
  const std::string_view path = path_of(req.target());
  if (int64_t retry_after = limiter_.admit(peer_ip); retry_after > 0) {
    log_.write({{"op", "rate_limited"},
                {"method", std::string(req.method_string())},
                {"path", std::string(path)},
                {"peer", peer_ip},
                {"retry_after", retry_after}});
    Reply r = json_reply(req, http::status::too_many_requests,
                         json{{"error", "rate limited"}, {"retry_after", retry_after}});
    r.res.set(http::field::retry_after, std::to_string(retry_after));
    return r;
  }
  const uint64_t n = ++admitted_;
  if (faults_.fail_every > 0 && n % static_cast<uint64_t>(faults_.fail_every) == 0) {
    log_.write({{"op", "fail"},
                {"method", std::string(req.method_string())},
                {"path", std::string(path)},
                {"peer", peer_ip}});
    return error_reply(req, http::status::service_unavailable, "injected failure");
  }

  if (path == "/api/v3/order") {
    if (req.method() == http::verb::post) return place(req, peer_ip);
    if (req.method() == http::verb::delete_) return cancel(req, peer_ip);
    return error_reply(req, http::status::method_not_allowed, "method not allowed");
  }
  if (path == "/api/v3/openOrders") {
    if (req.method() == http::verb::get) return open_orders(req);
    return error_reply(req, http::status::method_not_allowed, "method not allowed");
  }
  if (path == "/api/v3/time") {
    if (req.method() == http::verb::get) return server_time(req);
    return error_reply(req, http::status::method_not_allowed, "method not allowed");
  }
  return error_reply(req, http::status::not_found, "no such endpoint");
}

Reply RestApi::place(const Request& req, const std::string& peer_ip) {
  json body = json::parse(req.body(), nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object())
    return error_reply(req, http::status::bad_request, "body is not a JSON object");
  auto symbol = nonempty_string(body, "symbol");
  auto side = nonempty_string(body, "side");
  auto client_id = nonempty_string(body, "client_id");
  auto price = positive_number(body, "price");
  auto qty = positive_number(body, "qty");
  if (!symbol || !side || !client_id || !price || !qty)
    return error_reply(req, http::status::bad_request,
                       "need symbol, side, price > 0, qty > 0, client_id");
  std::string up = *side;
  std::ranges::transform(up, up.begin(), [](unsigned char c) { return std::toupper(c); });
  if (up != "BUY" && up != "SELL")
    return error_reply(req, http::status::bad_request, "side must be BUY or SELL");

  Order o = book_.place(Order{0, *client_id, *symbol, up, *price, *qty, refcommon::realtime_ns()});
  const uint64_t n = ++placed_;
  std::chrono::milliseconds delay{0};
  if (faults_.slow_place_every > 0 && n % static_cast<uint64_t>(faults_.slow_place_every) == 0)
    delay = std::chrono::milliseconds(faults_.slow_ms);
  log_.write({{"op", "place"},
              {"order_id", o.order_id},
              {"client_id", o.client_id},
              {"symbol", o.symbol},
              {"side", o.side},
              {"price", o.price},
              {"qty", o.qty},
              {"peer", peer_ip},
              {"delayed_ms", delay.count()}});
  Reply r =
      json_reply(req, http::status::ok,
                 json{{"order_id", o.order_id}, {"client_id", o.client_id}, {"status", "NEW"}});
  r.delay = delay;
  return r;
}

Reply RestApi::cancel(const Request& req, const std::string& peer_ip) {
  const std::string id_text = query_param(req.target(), "order_id");
  uint64_t id = 0;
  auto [p, ec] = std::from_chars(id_text.data(), id_text.data() + id_text.size(), id);
  if (id_text.empty() || ec != std::errc{} || p != id_text.data() + id_text.size())
    return error_reply(req, http::status::bad_request, "order_id must be a number");
  auto o = book_.cancel(id);
  json entry{{"op", "cancel"}, {"order_id", id}, {"found", o.has_value()}, {"peer", peer_ip}};
  if (o) entry["client_id"] = o->client_id;
  log_.write(std::move(entry));
  if (!o) return error_reply(req, http::status::not_found, "unknown order");
  return json_reply(req, http::status::ok,
                    json{{"order_id", id}, {"client_id", o->client_id}, {"status", "CANCELED"}});
}

Reply RestApi::open_orders(const Request& req) {
  json list = json::array();
  for (const Order& o : book_.open_orders(query_param(req.target(), "symbol")))
    list.push_back(to_json(o));
  return json_reply(req, http::status::ok, list);
}

Reply RestApi::server_time(const Request& req) {
  return json_reply(req, http::status::ok,
                    json{{"serverTime", refcommon::realtime_ns() / 1'000'000}});
}

}  // namespace refexchange
