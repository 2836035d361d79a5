#include "rest_client.h"

#include "backoff.h"
#include "name_resolver.h"

namespace refengine {
using namespace refnet;
using asio::redirect_error;
using asio::use_awaitable;
using Clock = std::chrono::steady_clock;

std::string HttpResult::code() const {
  switch (kind) {
    case Kind::response:
      return std::to_string(status);
    case Kind::timeout:
      return "timeout";
    case Kind::error:
      break;
  }
  return "error";
}

RestClient::RestClient(asio::any_io_executor ex, refcommon::Url base, Metrics& metrics,
                       std::chrono::milliseconds resolve_timeout, ssl::context* tls)
    : ex_(std::move(ex)),
      base_(std::move(base)),
      metrics_(metrics),
      resolve_timeout_(resolve_timeout),
      tls_(tls) {}

beast::tcp_stream& RestClient::tcp() {
  return tls_stream_ ? beast::get_lowest_layer(*tls_stream_) : *plain_;
}

void RestClient::reset() {
  // A failed or timed-out request leaves the connection in an unknown state: closed without a
  // TLS close_notify, as engines do on a deadline.
  if (plain_ || tls_stream_) {
    error_code ec;
    tcp().socket().shutdown(tcp::socket::shutdown_both, ec);
    tcp().close();
  }
  plain_.reset();
  tls_stream_.reset();
  buffer_.clear();
  connected_ = false;
}

asio::awaitable<HttpResult> RestClient::request(http::verb verb, std::string target,
                                                std::string body,
                                                std::chrono::milliseconds deadline) {
  const auto start = Clock::now();
  HttpResult r = co_await exchange(verb, std::move(target), std::move(body), start + deadline);
  r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (r.kind != HttpResult::Kind::response) reset();
  co_return r;
}

template <class Stream>
asio::awaitable<void> RestClient::round_trip(Stream& stream, http::request<http::string_body>& req,
                                             http::response_parser<http::string_body>& parser,
                                             error_code& ec) {
  co_await http::async_write(stream, req, redirect_error(use_awaitable, ec));
  if (!ec) co_await http::async_read(stream, buffer_, parser, redirect_error(use_awaitable, ec));
}

asio::awaitable<HttpResult> RestClient::exchange(http::verb verb, std::string target,
                                                 std::string body, Clock::time_point until) {
  HttpResult r;
  error_code ec;
  auto timed_out = [&] { return Clock::now() >= until; };
  if (!connected_) {
    if (attempted_) metrics_.reconnect_attempt("rest");
    attempted_ = true;
    r.fresh_connection = true;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
    Resolution res = co_await resolve(
        base_.host, base_.port,
        std::min(resolve_timeout_, std::max(left, std::chrono::milliseconds::zero())));
    metrics_.dns_lookup(res.ok(), res.seconds);
    if (!res.ok()) {
      r.kind = res.timed_out && timed_out() ? HttpResult::Kind::timeout : HttpResult::Kind::error;
      r.error = "resolve " + base_.host + ": " + res.error;
      co_return r;
    }
    if (tls_)
      tls_stream_.emplace(ex_, *tls_);
    else
      plain_.emplace(ex_);
    tcp().expires_at(until);
    co_await tcp().async_connect(res.endpoints, redirect_error(use_awaitable, ec));
    if (ec) {
      r.kind = ec == beast::error::timeout ? HttpResult::Kind::timeout : HttpResult::Kind::error;
      r.error = "connect: " + ec.message();
      co_return r;
    }
    tcp().socket().set_option(tcp::no_delay(true), ec);
    if (tls_stream_) {
      refcommon::prepare_client_stream(*tls_stream_, base_.host);
      co_await tls_stream_->async_handshake(ssl::stream_base::client,
                                            redirect_error(use_awaitable, ec));
      if (ec) {
        r.kind = ec == beast::error::timeout ? HttpResult::Kind::timeout : HttpResult::Kind::error;
        r.error = "tls handshake: " + ec.message();
        co_return r;
      }
    }
    connected_ = true;
  }

  http::request<http::string_body> req{verb, target, 11};
  req.set(http::field::host, base_.host_header());
  req.set(http::field::user_agent, "ref-engine");
  req.keep_alive(true);
  if (!body.empty()) {
    req.set(http::field::content_type, "application/json");
    req.body() = std::move(body);
  }
  req.prepare_payload();

  tcp().expires_at(until);
  http::response_parser<http::string_body> parser;
  parser.body_limit(8 * 1024 * 1024);
  if (tls_stream_)
    co_await round_trip(*tls_stream_, req, parser, ec);
  else
    co_await round_trip(*plain_, req, parser, ec);
  if (!ec) {
    auto& res = parser.get();
    r.kind = HttpResult::Kind::response;
    r.status = static_cast<int>(res.result_int());
    if (auto it = res.find(http::field::retry_after); it != res.end())
      r.retry_after = parse_retry_after(it->value());
    r.body = std::move(res.body());
    if (!res.keep_alive())
      reset();
    else
      tcp().expires_never();
    co_return r;
  }
  r.kind = ec == beast::error::timeout ? HttpResult::Kind::timeout : HttpResult::Kind::error;
  r.error = ec.message();
  co_return r;
}

}  // namespace refengine
