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
                       std::chrono::milliseconds resolve_timeout)
    : ex_(std::move(ex)),
      base_(std::move(base)),
      metrics_(metrics),
      resolve_timeout_(resolve_timeout) {}

void RestClient::reset() {
  if (stream_) {
    error_code ec;
    stream_->socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_->close();
  }
  stream_.reset();
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
    stream_.emplace(ex_);
    stream_->expires_at(until);
    co_await stream_->async_connect(res.endpoints, redirect_error(use_awaitable, ec));
    if (ec) {
      r.kind = ec == beast::error::timeout ? HttpResult::Kind::timeout : HttpResult::Kind::error;
      r.error = "connect: " + ec.message();
      co_return r;
    }
    stream_->socket().set_option(tcp::no_delay(true), ec);
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

  stream_->expires_at(until);
  co_await http::async_write(*stream_, req, redirect_error(use_awaitable, ec));
  if (!ec) {
    http::response_parser<http::string_body> parser;
    parser.body_limit(8 * 1024 * 1024);
    co_await http::async_read(*stream_, buffer_, parser, redirect_error(use_awaitable, ec));
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
        stream_->expires_never();
      co_return r;
    }
  }
  r.kind = ec == beast::error::timeout ? HttpResult::Kind::timeout : HttpResult::Kind::error;
  r.error = ec.message();
  co_return r;
}

}  // namespace refengine
