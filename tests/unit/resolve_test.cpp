// Unit tests for target.exchanges -> endpoints: a fake resolver, and getaddrinfo on this host.
#include "resolve/resolve.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

namespace mmchaos {
namespace {

using Addr = std::pair<int, std::array<uint8_t, 16>>;
using Addrs = std::vector<Addr>;

Addr V4(const char* s) {
  Addr a{AF_INET, {}};
  EXPECT_EQ(inet_pton(AF_INET, s, a.second.data()), 1) << s;
  return a;
}

Addr V6(const char* s) {
  Addr a{AF_INET6, {}};
  EXPECT_EQ(inet_pton(AF_INET6, s, a.second.data()), 1) << s;
  return a;
}

// The target section of a config whose target.exchanges is `exchanges` (lines indented as there).
Target MustExchanges(const std::string& exchanges) {
  Result<Config> r = ParseConfig("target:\n  exchanges:\n" + exchanges, "t.yaml");
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message());
  return r ? r->target : Target{};
}

// A resolver answering from a table, counting its calls.
struct FakeDns {
  std::map<std::string, Result<Addrs>> table;
  std::map<std::string, int> calls;

  Resolver resolver() {
    return [this](const std::string& host) -> Result<Addrs> {
      ++calls[host];
      auto it = table.find(host);
      if (it == table.end()) return Fail("Name or service not known");
      return it->second;
    };
  }
};

std::vector<std::string> Strings(const ResolveResult& r) {
  std::vector<std::string> out;
  for (const ResolvedEndpoint& ep : r.endpoints) out.push_back(EndpointString(ep));
  return out;
}

std::string Join(const std::vector<std::string>& v) {
  std::string s;
  for (const std::string& x : v) s += x + "\n";
  return s;
}

// Resolves t through dns, expecting no errors and these endpoints (EndpointString, in order).
ResolveResult ResolveOk(const Target& t, FakeDns& dns, const std::vector<std::string>& want) {
  ResolveResult r = ResolveEndpoints(t, dns.resolver());
  EXPECT_TRUE(r.errors.empty()) << Join(r.errors);
  EXPECT_EQ(Strings(r), want);
  return r;
}

TEST(Resolve, MultipleAddressesV4AndV6) {
  FakeDns dns;
  dns.table["api.binance.com"] = Addrs{V4("203.0.113.1"), V4("203.0.113.2"), V6("2001:db8::1")};
  dns.table["stream.binance.com"] = Addrs{V6("2001:db8::2")};
  Target t = MustExchanges(R"(    binance:
      rest: ["https://api.binance.com/api/v3"]
      ws: ["wss://stream.binance.com:9443/ws"]
)");
  ResolveResult r =
      ResolveOk(t, dns,
                {"203.0.113.1:443 rest binance (tls)", "203.0.113.2:443 rest binance (tls)",
                 "[2001:db8::1]:443 rest binance (tls)", "[2001:db8::2]:9443 ws binance (tls)"});
  EXPECT_TRUE(r.warnings.empty()) << Join(r.warnings);
  ASSERT_EQ(r.endpoints.size(), 4u);
  const ResolvedEndpoint& v4 = r.endpoints[0];
  EXPECT_EQ(v4.family, AF_INET);
  EXPECT_EQ(v4.addr, V4("203.0.113.1").second);
  EXPECT_EQ(v4.addr[0], 203);  // network order
  EXPECT_EQ(v4.addr[3], 1);
  EXPECT_EQ(v4.port, 443);
  EXPECT_EQ(v4.cls, FlowClass::kRest);
  EXPECT_EQ(v4.exchange, 0);
  EXPECT_TRUE(v4.tls);
  EXPECT_EQ(v4.url, "https://api.binance.com/api/v3");
  const ResolvedEndpoint& ws = r.endpoints[3];
  EXPECT_EQ(ws.family, AF_INET6);
  EXPECT_EQ(ws.addr, V6("2001:db8::2").second);
  EXPECT_EQ(ws.port, 9443);
  EXPECT_EQ(ws.cls, FlowClass::kWs);
  EXPECT_EQ(ws.url, "wss://stream.binance.com:9443/ws");
  EXPECT_EQ(static_cast<int>(FlowClass::kRest), 1);
  EXPECT_EQ(static_cast<int>(FlowClass::kWs), 2);
}

TEST(Resolve, OneFailedHostIsReportedOthersKept) {
  FakeDns dns;
  dns.table["api.good.example"] = Addrs{V4("198.51.100.7")};
  Target t = MustExchanges(R"(    binance:
      rest: ["https://api.binance.com", "https://api.binance.com/v3"]
      ws: ["wss://api.binance.com"]
    good:
      rest: ["http://api.good.example:8080"]
      ws: ["ws://10.0.0.9:81"]
)");
  ResolveResult r = ResolveEndpoints(t, dns.resolver());
  // Reported once per exchange and host, however many URLs use it.
  EXPECT_EQ(r.errors,
            (std::vector<std::string>{"exchange binance: api.binance.com: Name or service not "
                                      "known"}));
  EXPECT_EQ(Strings(r),
            (std::vector<std::string>{"198.51.100.7:8080 rest good", "10.0.0.9:81 ws good"}));
  ASSERT_EQ(r.endpoints.size(), 2u);
  EXPECT_EQ(r.endpoints[0].exchange, 1);  // config order
  EXPECT_EQ(r.endpoints[0].exchange_name, "good");
  EXPECT_EQ(dns.calls["api.binance.com"], 1);  // one lookup per host
}

TEST(Resolve, EmptyOrUnusableAnswerIsAnError) {
  FakeDns dns;
  dns.table["empty.example"] = Addrs{};
  dns.table["weird.example"] = Addrs{{AF_UNIX, {}}};
  Target t = MustExchanges(R"(    x:
      rest: ["http://empty.example", "http://weird.example"]
)");
  ResolveResult r = ResolveEndpoints(t, dns.resolver());
  EXPECT_TRUE(r.endpoints.empty());
  ASSERT_EQ(r.errors.size(), 2u) << Join(r.errors);
  EXPECT_EQ(r.errors[0], "exchange x: empty.example: no addresses");
  EXPECT_EQ(r.errors[1], "exchange x: weird.example: no IPv4 or IPv6 address");
}

TEST(Resolve, DeduplicatesIdenticalEndpoints) {
  FakeDns dns;
  dns.table["a.example"] = Addrs{V4("192.0.2.1"), V4("192.0.2.1"), V6("2001:db8::a")};
  dns.table["b.example"] = Addrs{V4("192.0.2.1")};  // another name, same address
  Target t = MustExchanges(R"(    one:
      rest: ["https://a.example/x", "https://a.example/y", "https://b.example"]
    two:
      rest: ["https://192.0.2.1", "http://192.0.2.1"]
)");
  // The first in config order wins; port 80 is another endpoint.
  ResolveResult r = ResolveOk(t, dns,
                              {"192.0.2.1:443 rest one (tls)", "[2001:db8::a]:443 rest one (tls)",
                               "192.0.2.1:80 rest two"});
  ASSERT_EQ(r.endpoints.size(), 3u);
  EXPECT_EQ(r.endpoints[0].url, "https://a.example/x");
  EXPECT_EQ(dns.calls["a.example"], 1);
}

TEST(Resolve, SameAddressAndPortForRestAndWsIsKeptWithAWarning) {
  FakeDns dns;
  dns.table["www.deribit.example"] = Addrs{V4("192.0.2.50")};
  Target t = MustExchanges(R"(    deribit:
      rest: ["https://www.deribit.example/api/v2"]
      ws: ["wss://www.deribit.example/ws/api/v2"]
)");
  ResolveResult r = ResolveEndpoints(t, dns.resolver());
  EXPECT_EQ(Strings(r), (std::vector<std::string>{"192.0.2.50:443 rest deribit (tls)",
                                                  "192.0.2.50:443 ws deribit (tls)"}));
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_EQ(r.warnings[0],
            "192.0.2.50:443 is both a rest endpoint (https://www.deribit.example/api/v2) and a ws "
            "endpoint (wss://www.deribit.example/ws/api/v2); its flows cannot be told apart by "
            "address and port");
}

TEST(Resolve, IpLiteralsNeedNoDns) {
  FakeDns dns;
  Target t = MustExchanges(R"(    testnet:
      rest: ["http://10.20.0.2:8080", "https://[fd00::2]/api"]
      ws: ["ws://[fd00::2]:8081", "wss://[::ffff:10.20.0.3]:9443"]
)");
  ASSERT_EQ(t.exchanges.size(), 1u);
  EXPECT_EQ(t.exchanges[0].ws[0].host, "fd00::2");  // stored without brackets
  // A v4-mapped address is IPv4 on the wire.
  ResolveResult r = ResolveOk(t, dns,
                              {"10.20.0.2:8080 rest testnet", "[fd00::2]:443 rest testnet (tls)",
                               "[fd00::2]:8081 ws testnet", "10.20.0.3:9443 ws testnet (tls)"});
  EXPECT_TRUE(dns.calls.empty());
  ASSERT_EQ(r.endpoints.size(), 4u);
  EXPECT_EQ(r.endpoints[1].family, AF_INET6);
  EXPECT_EQ(r.endpoints[1].addr, V6("fd00::2").second);
  EXPECT_EQ(r.endpoints[3].family, AF_INET);
  EXPECT_EQ(r.endpoints[3].addr, V4("10.20.0.3").second);

  // A host written with brackets (not what the parser stores) is taken as the literal too.
  Target direct;
  Exchange x;
  x.name = "x";
  x.rest.push_back(Endpoint{"http://[fd00::9]:80", "http", "[fd00::9]", 80, false});
  direct.exchanges.push_back(x);
  r = ResolveEndpoints(direct, dns.resolver());
  EXPECT_TRUE(dns.calls.empty());
  EXPECT_EQ(Strings(r), std::vector<std::string>{"[fd00::9]:80 rest x"});
}

TEST(Resolve, PinnedNamesAreNotAskedAndKeepTheirUrl) {
  FakeDns dns;
  dns.table["api.x.test"] = Addrs{V4("192.0.2.1")};  // what this host would answer
  dns.table["ws.x.test"] = Addrs{V4("192.0.2.2")};
  Target t = MustExchanges(R"(    x:
      rest: ["https://api.x.test:8443"]
      ws: ["wss://ws.x.test/ws"]
      resolve: {api.x.test: [10.78.0.2, "fd00::2"]}
)");
  ResolveResult r = ResolveOk(
      t, dns,
      {"10.78.0.2:8443 rest x (tls)", "[fd00::2]:8443 rest x (tls)", "192.0.2.2:443 ws x (tls)"});
  EXPECT_EQ(dns.calls.count("api.x.test"), 0u) << "a pinned name is not looked up";
  EXPECT_EQ(dns.calls["ws.x.test"], 1) << "the others are";
  EXPECT_EQ(r.endpoints[0].url, "https://api.x.test:8443");
}

TEST(Resolve, NoExchangesNoEndpoints) {
  FakeDns dns;
  ResolveResult r = ResolveEndpoints(Target{}, dns.resolver());
  EXPECT_TRUE(r.endpoints.empty());
  EXPECT_TRUE(r.errors.empty());
}

TEST(Resolve, EndpointStringForms) {
  ResolvedEndpoint ep{.family = AF_INET,
                      .addr = V4("10.0.0.2").second,
                      .port = 8080,
                      .cls = FlowClass::kRest,
                      .exchange = 0,
                      .tls = false,
                      .url = "http://10.0.0.2:8080",
                      .exchange_name = "testnet"};
  EXPECT_EQ(EndpointString(ep), "10.0.0.2:8080 rest testnet");
  ep.family = AF_INET6;
  ep.addr = V6("fd00::2").second;
  ep.port = 443;
  ep.cls = FlowClass::kWs;
  ep.tls = true;
  ep.exchange_name = "binance";
  EXPECT_EQ(EndpointString(ep), "[fd00::2]:443 ws binance (tls)");
}

// --- getaddrinfo on this machine ---------------------------------------------------------------

TEST(ResolveSystem, LoopbackLiteralAndLocalhost) {
  Target t = MustExchanges(R"(    local:
      rest: ["http://127.0.0.1:8080"]
      ws: ["ws://localhost:8081"]
)");
  ResolveResult r = ResolveEndpoints(t);
  EXPECT_TRUE(r.errors.empty()) << Join(r.errors);
  ASSERT_FALSE(r.endpoints.empty());
  EXPECT_EQ(EndpointString(r.endpoints[0]), "127.0.0.1:8080 rest local");
  // localhost: 127.0.0.1 and/or ::1, depending on /etc/hosts.
  std::set<std::string> ws;
  for (const ResolvedEndpoint& ep : r.endpoints) {
    if (ep.cls == FlowClass::kWs) ws.insert(EndpointString(ep));
  }
  EXPECT_FALSE(ws.empty());
  for (const std::string& s : ws) {
    EXPECT_TRUE(s == "127.0.0.1:8081 ws local" || s == "[::1]:8081 ws local") << s;
  }
}

TEST(ResolveSystem, UnknownHostIsAnError) {
  // glibc refuses a name with spaces before asking DNS: no network needed, no timeout.
  auto r = SystemResolve("not a host");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message(), "Name or service not known");
}

}  // namespace
}  // namespace mmchaos
