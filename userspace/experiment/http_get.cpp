#include "experiment/http_get.h"

// clang-format off
#include <utility>  // Boost 1.74's asio headers use std::exchange without including it
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
// clang-format on

#include <chrono>

#include "tc/netns.h"

namespace mmchaos {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

struct Target {
  std::string host, port = "80", path = "/";
};

Result<Target> ParseHttpUrl(const std::string& url) {
  const std::string scheme = "http://";
  if (url.rfind(scheme, 0) != 0) return Fail("GET " + url + ": only http:// URLs", EINVAL);
  std::string rest = url.substr(scheme.size());
  Target t;
  if (size_t slash = rest.find('/'); slash != std::string::npos) {
    t.path = rest.substr(slash);
    rest.resize(slash);
  }
  size_t colon = rest.rfind(':');
  if (!rest.empty() && rest.front() == '[') {  // [v6]:port
    size_t close = rest.find(']');
    if (close == std::string::npos) return Fail("GET " + url + ": unterminated [address]", EINVAL);
    t.host = rest.substr(1, close - 1);
    colon = rest.size() > close + 1 && rest[close + 1] == ':' ? close + 1 : std::string::npos;
  } else {
    t.host = rest.substr(0, colon);
  }
  if (colon != std::string::npos) t.port = rest.substr(colon + 1);
  if (t.host.empty() || t.port.empty()) return Fail("GET " + url + ": no host or port", EINVAL);
  return t;
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
  auto endpoints = tcp::resolver(io).resolve(target->host, target->port, ec);
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
