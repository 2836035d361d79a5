#include "experiment/http_get.h"

// clang-format off
#include <utility>  // Boost 1.74's asio headers use std::exchange without including it
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
// clang-format on

#include <chrono>
#include <string>

#include "common/url.h"
#include "tc/netns.h"

namespace mmchaos {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

// The URL as config accepted it (common/url.h), plaintext only.
Result<Url> ParseHttpUrl(const std::string& url) {
  auto u = ParseUrl(url, "http", "https");
  if (!u) return Fail("GET " + url + ": " + u.error().call, EINVAL);
  if (u->tls) return Fail("GET " + url + ": only http:// URLs", EINVAL);
  return u;
}

}  // namespace

Result<std::string> HttpGet(const std::string& url, const std::string& netns, int timeout_ms) {
  auto target = ParseHttpUrl(url);
  if (!target) return std::unexpected(target.error());
  const std::string hint = "is target.metrics_url reachable from target.netns?";
  // Sockets belong to the namespace of the thread that creates them: everything below runs on
  // this thread (the name lookup synchronously, the rest on an io_context run here), inside it.
  auto ns = NetnsGuard::Enter(netns);
  if (!ns) return std::unexpected(ns.error());
  asio::io_context io;
  boost::system::error_code ec;
  auto endpoints = tcp::resolver(io).resolve(target->host, std::to_string(target->port), ec);
  if (ec) return Fail("GET " + url + ": resolve " + target->host + ": " + ec.message(), EIO, hint);

  beast::tcp_stream stream(io);
  beast::flat_buffer buf;
  http::request<http::empty_body> req{http::verb::get, target->path, 11};
  req.set(http::field::host, target->host);
  req.set(http::field::connection, "close");
  http::response<http::string_body> res;
  std::string failed;
  stream.expires_after(std::chrono::milliseconds(timeout_ms));  // the whole exchange
  stream.async_connect(endpoints, [&](auto e, auto) {
    if (e) return void(failed = "connect: " + e.message());
    http::async_write(stream, req, [&](auto e, auto) {
      if (e) return void(failed = "write: " + e.message());
      http::async_read(stream, buf, res, [&](auto e, auto) {
        if (e) failed = "read: " + e.message();
      });
    });
  });
  io.run();
  if (!failed.empty()) return Fail("GET " + url + ": " + failed, EIO, hint);
  if (res.result_int() != 200)
    return Fail("GET " + url + ": HTTP " + std::to_string(res.result_int()), EIO,
                "target.metrics_url must be the engine's Prometheus /metrics");
  return std::move(res.body());
}

}  // namespace mmchaos
