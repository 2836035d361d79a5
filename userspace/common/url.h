// URLs and HOST:PORT as mmchaos reads them: the exchanges' rest/ws URLs and target.metrics_url
// (config), metrics.listen (config), and the engine scrape's GET (experiment/http_get). One
// parser, so what the config accepts is what the client connects to.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.h"

namespace mmchaos {

struct Url {
  std::string scheme;      // lower case: one of the two the caller allows
  std::string host;        // a name, an IPv4 address or an IPv6 address (brackets removed)
  uint16_t port = 0;       // explicit or the scheme's default (443 with TLS, else 80)
  std::string path = "/";  // from the first '/' or '?' on, up to a '#'; always starts with '/'
  bool tls = false;        // the scheme is the TLS one
};

// "host:port" / "[v6]:port" (the authority part of a URL, or a listen address), split.
struct HostPort {
  std::string host;  // brackets removed
  std::string port;  // as written; empty when there is none
  bool bracketed = false;
};

// Errors below carry the operator-facing reason in Error::call (EINVAL); values from the input
// appear only as Shown() shows them.

// PLAIN://HOST[:PORT][/PATH] or TLS://...; no user information, no whitespace.
Result<Url> ParseUrl(const std::string& url, const std::string& plain, const std::string& tls);

Result<HostPort> SplitHostPort(std::string_view authority);

// A decimal port; nullopt if not 1..65535.
std::optional<uint16_t> ParsePort(std::string_view s);

// An IPv4 or IPv6 address (without brackets).
bool IsIpLiteral(const std::string& host);

// Whether a listen address only accepts local connections.
bool IsLoopback(const std::string& host, bool bracketed);

}  // namespace mmchaos
