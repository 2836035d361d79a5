// Resolution of target.exchanges into endpoints for the BPF maps.
#include "resolve/resolve.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <optional>

namespace mmchaos {
namespace {

using Addr = std::pair<int, std::array<uint8_t, 16>>;
using Addrs = std::vector<Addr>;

// "[fd00::2]" -> "fd00::2" (Endpoint::host has no brackets; tolerate them anyway).
std::string Unbracket(const std::string& host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    return host.substr(1, host.size() - 2);
  return host;
}

std::optional<Addr> ParseLiteral(const std::string& host) {
  Addr a{AF_INET, {}};
  if (inet_pton(AF_INET, host.c_str(), a.second.data()) == 1) return a;
  a.first = AF_INET6;
  if (inet_pton(AF_INET6, host.c_str(), a.second.data()) == 1) return a;
  return std::nullopt;
}

// ::ffff:a.b.c.d is IPv4 on the wire.
Addr Canonical(Addr a) {
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (a.first == AF_INET6 && std::equal(kMapped, kMapped + 12, a.second.begin())) {
    std::array<uint8_t, 16> v4{};
    std::copy(a.second.begin() + 12, a.second.end(), v4.begin());
    return {AF_INET, v4};
  }
  if (a.first == AF_INET) std::fill(a.second.begin() + 4, a.second.end(), 0);
  return a;
}

std::string AddrString(int family, const std::array<uint8_t, 16>& addr) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (inet_ntop(family, addr.data(), buf, sizeof(buf)) == nullptr) return "?";
  return buf;
}

std::string HostPort(int family, const std::array<uint8_t, 16>& addr, uint16_t port) {
  std::string a = AddrString(family, addr);
  if (family == AF_INET6) a = "[" + a + "]";
  return a + ":" + std::to_string(port);
}

const char* ClassName(FlowClass c) { return c == FlowClass::kWs ? "ws" : "rest"; }

}  // namespace

Result<Addrs> SystemResolve(const std::string& host) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  // No AI_ADDRCONFIG: in a namespace with only loopback it would hide every address.
  addrinfo* res = nullptr;
  int rc = getaddrinfo(host.c_str(), nullptr, &hints, &res);
  if (rc == EAI_SYSTEM) return Fail("getaddrinfo", errno);
  if (rc != 0) return Fail(gai_strerror(rc));
  Addrs out;
  for (const addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    Addr a{ai->ai_family, {}};
    if (ai->ai_family == AF_INET && ai->ai_addrlen >= sizeof(sockaddr_in)) {
      const auto* sin = reinterpret_cast<const sockaddr_in*>(ai->ai_addr);
      std::memcpy(a.second.data(), &sin->sin_addr, 4);
    } else if (ai->ai_family == AF_INET6 && ai->ai_addrlen >= sizeof(sockaddr_in6)) {
      const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(ai->ai_addr);
      std::memcpy(a.second.data(), &sin6->sin6_addr, 16);
    } else {
      continue;
    }
    if (std::find(out.begin(), out.end(), a) == out.end()) out.push_back(a);
  }
  freeaddrinfo(res);
  if (out.empty()) return Fail("no IPv4 or IPv6 address");
  return out;
}

ResolveResult ResolveEndpoints(const Target& t) { return ResolveEndpoints(t, SystemResolve); }

ResolveResult ResolveEndpoints(const Target& t, const Resolver& r) {
  ResolveResult out;
  std::map<std::string, Result<Addrs>> cache;  // host name -> answer, one lookup each

  auto lookup = [&](const std::string& host) -> const Result<Addrs>& {
    auto it = cache.find(host);
    if (it != cache.end()) return it->second;
    Result<Addrs> got = r(host);
    if (got && got->empty()) got = Fail("no addresses");
    if (got) {
      Addrs valid;
      for (const Addr& a : *got) {
        if (a.first != AF_INET && a.first != AF_INET6) continue;
        Addr c = Canonical(a);
        if (std::find(valid.begin(), valid.end(), c) == valid.end()) valid.push_back(c);
      }
      if (valid.empty())
        got = Fail("no IPv4 or IPv6 address");
      else
        *got = std::move(valid);
    }
    return cache.emplace(host, std::move(got)).first->second;
  };

  auto add = [&](ResolvedEndpoint ep) {
    for (const ResolvedEndpoint& e : out.endpoints) {
      if (e.family == ep.family && e.addr == ep.addr && e.port == ep.port) {
        if (e.cls == ep.cls) return;  // a duplicate: the first (config order) wins
        std::string w = HostPort(ep.family, ep.addr, ep.port) + " is both a rest endpoint (" +
                        (e.cls == FlowClass::kRest ? e.url : ep.url) + ") and a ws endpoint (" +
                        (e.cls == FlowClass::kWs ? e.url : ep.url) +
                        "); its flows cannot be told apart by address and port";
        if (std::find(out.warnings.begin(), out.warnings.end(), w) == out.warnings.end())
          out.warnings.push_back(std::move(w));
      }
    }
    out.endpoints.push_back(std::move(ep));
  };

  for (size_t i = 0; i < t.exchanges.size(); ++i) {
    const Exchange& ex = t.exchanges[i];
    if (i > 255) {
      out.errors.push_back("exchange " + ex.name +
                           ": more than 256 exchanges; its endpoints are not matched");
      continue;
    }
    std::vector<std::string> failed;  // hosts already reported for this exchange
    for (FlowClass cls : {FlowClass::kRest, FlowClass::kWs}) {
      for (const Endpoint& url : cls == FlowClass::kRest ? ex.rest : ex.ws) {
        std::string host = Unbracket(url.host);
        Addrs literal;
        const Addrs* addrs = nullptr;
        auto pinned = ex.resolve.find(url.host);
        if (std::optional<Addr> a = ParseLiteral(host)) {
          literal.push_back(Canonical(*a));
          addrs = &literal;
        } else if (pinned != ex.resolve.end()) {
          // The config's addresses for this name (validated literals), this host's resolver
          // not asked: the engine's may answer differently.
          for (const std::string& text : pinned->second)
            if (std::optional<Addr> p = ParseLiteral(text)) {
              Addr c = Canonical(*p);
              if (std::find(literal.begin(), literal.end(), c) == literal.end())
                literal.push_back(c);
            }
          addrs = &literal;
        } else {
          const Result<Addrs>& got = lookup(host);
          if (!got) {
            if (std::find(failed.begin(), failed.end(), host) == failed.end()) {
              failed.push_back(host);
              out.errors.push_back("exchange " + ex.name + ": " + host + ": " +
                                   got.error().message());
            }
            continue;
          }
          addrs = &*got;
        }
        for (const auto& [family, addr] : *addrs) {
          add(ResolvedEndpoint{.family = family,
                               .addr = addr,
                               .port = url.port,
                               .cls = cls,
                               .exchange = static_cast<uint8_t>(i),
                               .tls = url.tls,
                               .url = url.url,
                               .exchange_name = ex.name});
        }
      }
    }
  }
  return out;
}

std::string EndpointString(const ResolvedEndpoint& ep) {
  std::string s = HostPort(ep.family, ep.addr, ep.port) + " " + ClassName(ep.cls) + " ";
  // Appended piecewise, not "#" + ...: g++ 12 at -O3 reports a false -Wrestrict there.
  if (ep.exchange_name.empty()) {
    s += '#';
    s += std::to_string(ep.exchange);
  } else {
    s += ep.exchange_name;
  }
  if (ep.tls) s += " (tls)";
  return s;
}

}  // namespace mmchaos
