#include "url.h"

#include <charconv>

namespace refcommon {
namespace {

std::optional<uint16_t> parse_port(std::string_view s) {
  if (s.empty() || s.size() > 5) return std::nullopt;
  unsigned v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size() || v > 65535) return std::nullopt;
  return static_cast<uint16_t>(v);
}

// Splits "host[:port]" (host may be a bracketed IPv6 literal).
bool split_authority(std::string_view auth, std::string& host, std::optional<uint16_t>& port) {
  if (auth.empty()) return false;
  std::string_view rest;
  if (auth.front() == '[') {
    auto close = auth.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    host = std::string(auth.substr(1, close - 1));
    rest = auth.substr(close + 1);
  } else {
    auto colon = auth.find(':');
    host = std::string(auth.substr(0, colon));
    rest = colon == std::string_view::npos ? std::string_view{} : auth.substr(colon);
  }
  if (host.empty()) return false;
  if (rest.empty()) return true;
  if (rest.front() != ':') return false;
  port = parse_port(rest.substr(1));
  return port.has_value();
}

}  // namespace

std::string Url::host_header() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return h + ":" + std::to_string(port);
}

std::optional<Url> parse_url(std::string_view text, std::string* error) {
  auto fail = [&](const char* why) -> std::optional<Url> {
    if (error) *error = std::string(why) + ": '" + std::string(text) + "'";
    return std::nullopt;
  };
  auto sep = text.find("://");
  if (sep == std::string_view::npos) return fail("missing scheme");
  Url url;
  url.scheme = std::string(text.substr(0, sep));
  if (url.scheme != "http" && url.scheme != "ws" && url.scheme != "https" && url.scheme != "wss")
    return fail("scheme must be http, https, ws or wss");
  auto rest = text.substr(sep + 3);
  auto slash = rest.find('/');
  auto auth = rest.substr(0, slash);
  url.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  std::optional<uint16_t> port;
  if (!split_authority(auth, url.host, port)) return fail("bad host or port");
  url.port = port.value_or(url.tls() ? 443 : 80);
  if (url.port == 0) return fail("port 0");
  return url;
}

std::optional<std::pair<std::string, uint16_t>> parse_host_port(std::string_view text) {
  std::string host;
  std::optional<uint16_t> port;
  if (!split_authority(text, host, port) || !port) return std::nullopt;
  return std::make_pair(host, *port);
}

}  // namespace refcommon
