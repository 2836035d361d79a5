// Parses the exchange URLs the engine is given: http(s)://host:port[/path] and
// ws(s)://host:port/path.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace refcommon {

struct Url {
  std::string scheme;  // "http", "https", "ws" or "wss"
  std::string host;    // a name or an address; IPv6 literals without the brackets
  uint16_t port = 0;
  std::string target;  // path (and query), "/" when absent

  // "host:port" as it goes into a Host header (IPv6 literals bracketed again).
  std::string host_header() const;
  bool tls() const { return scheme == "https" || scheme == "wss"; }
  // The scheme without TLS: "http" or "ws".
  std::string plain_scheme() const { return tls() ? scheme.substr(0, scheme.size() - 1) : scheme; }
};

// Returns nullopt (and sets *error when given) for anything but http(s):// or ws(s):// URLs
// with a host. The port defaults to 80, or 443 with TLS.
std::optional<Url> parse_url(std::string_view text, std::string* error = nullptr);

// "IP:PORT" (IPv6 as "[addr]:port") -> address, port. Port 0 is allowed (pick a free one).
std::optional<std::pair<std::string, uint16_t>> parse_host_port(std::string_view text);

}  // namespace refcommon
