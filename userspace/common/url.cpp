#include "common/url.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>

#include "common/shown.h"

namespace mmchaos {
namespace {

// A host name, an IPv4 address, or an IPv6 address (already without brackets when `bracketed`).
bool ValidHost(const std::string& host, bool bracketed) {
  if (bracketed) {
    in6_addr a6;
    return inet_pton(AF_INET6, host.c_str(), &a6) == 1;
  }
  if (host.empty() || host.size() > 253) return false;
  bool numeric = std::all_of(host.begin(), host.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c)) || c == '.';
  });
  if (numeric) {
    in_addr a4;
    return inet_pton(AF_INET, host.c_str(), &a4) == 1;
  }
  return std::all_of(host.begin(), host.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
  });
}

std::unexpected<Error> Bad(std::string why) { return Fail(std::move(why), EINVAL); }

}  // namespace

bool IsLoopback(const std::string& host, bool bracketed) {
  if (bracketed) {
    in6_addr a6;
    return inet_pton(AF_INET6, host.c_str(), &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
  }
  if (host == "localhost") return true;
  in_addr a4;
  return inet_pton(AF_INET, host.c_str(), &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127;
}

bool IsIpLiteral(const std::string& host) {
  in6_addr a;
  return inet_pton(AF_INET, host.c_str(), &a) == 1 || inet_pton(AF_INET6, host.c_str(), &a) == 1;
}

std::optional<uint16_t> ParsePort(std::string_view s) {
  if (s.empty() || s.size() > 5) return std::nullopt;
  unsigned v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < 1 || v > 65535) return std::nullopt;
  return static_cast<uint16_t>(v);
}

Result<HostPort> SplitHostPort(std::string_view authority) {
  HostPort hp;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return Bad("unterminated '[' in IPv6 address");
    hp.host = std::string(authority.substr(1, close - 1));
    hp.bracketed = true;
    std::string_view rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return Bad("expected ':port' after ']'");
      hp.port = std::string(rest.substr(1));
      if (hp.port.empty()) return Bad("empty port after ':'");
    }
    if (!ValidHost(hp.host, true)) return Bad(Shown(hp.host) + " is not an IPv6 address");
    return hp;
  }
  size_t colon = authority.find(':');
  if (colon != std::string_view::npos && authority.find(':', colon + 1) != std::string_view::npos)
    return Bad("an IPv6 address must be in brackets, e.g. [::1]:9464");
  hp.host = std::string(authority.substr(0, colon));
  if (colon != std::string_view::npos) {
    hp.port = std::string(authority.substr(colon + 1));
    if (hp.port.empty()) return Bad("empty port after ':'");
  }
  if (hp.host.empty()) return Bad("empty host");
  if (!ValidHost(hp.host, false))
    return Bad(Shown(hp.host) + " is not a valid host name or IPv4 address");
  return hp;
}

Result<Url> ParseUrl(const std::string& url, const std::string& plain, const std::string& tls) {
  size_t sep = url.find("://");
  if (sep == std::string::npos)
    return Bad("expected " + plain + "://HOST[:PORT][/PATH] or " + tls + "://...");
  std::string scheme = url.substr(0, sep);
  std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (scheme != plain && scheme != tls)
    return Bad("scheme " + Shown(scheme) + " is not " + plain + " or " + tls);
  Url u;
  u.scheme = scheme;
  u.tls = scheme == tls;
  std::string_view rest = std::string_view(url).substr(sep + 3);
  size_t end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, end);
  if (authority.find('@') != std::string_view::npos)
    return Bad("user information (user@host) is not supported");
  if (std::any_of(url.begin(), url.end(),
                  [](char c) { return std::isspace(static_cast<unsigned char>(c)); }))
    return Bad("whitespace in URL");
  auto hp = SplitHostPort(authority);
  if (!hp) return std::unexpected(hp.error());
  u.host = std::move(hp->host);
  if (hp->port.empty()) {
    u.port = u.tls ? 443 : 80;
  } else if (auto p = ParsePort(hp->port)) {
    u.port = *p;
  } else {
    return Bad("port " + Shown(hp->port) + " is not in 1..65535");
  }
  if (end != std::string_view::npos) {
    std::string_view path = rest.substr(end);
    path = path.substr(0, path.find('#'));  // a fragment is not sent
    // Appended, not "/" + path: g++ 12 at -O3 warns (-Wrestrict) on the latter, wrongly.
    u.path.assign(path.empty() || path.front() != '/' ? "/" : "");
    u.path.append(path);
  }
  return u;
}

}  // namespace mmchaos
