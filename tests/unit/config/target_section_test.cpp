// config/target_section.cpp: target: and its exchanges: URLs, order requests, pinned addresses,
// the root cgroup refused.

#include "config_test_util.h"

namespace mmchaos {
namespace {

using namespace config_test;

// The endpoint `url` parses to in target.exchanges.x.<list> (list: rest or ws).
Endpoint UrlIn(const std::string& list, const std::string& url) {
  Config c = MustParse("target:\n  exchanges:\n    x:\n      " + list + ": [\"" + url + "\"]\n");
  if (c.target.exchanges.size() != 1) return {};
  const Exchange& x = c.target.exchanges[0];
  const std::vector<Endpoint>& parsed = list == "rest" ? x.rest : x.ws;
  return parsed.size() == 1 ? parsed[0] : Endpoint{};
}

// Order requests on a TLS-only exchange are chosen by the TLS mechanism (the preload reads the
// request line): nothing to warn about.
TEST(ConfigParse, OrderRequestOnATlsOnlyExchangeIsTaken) {
  Config c = MustParse(
      "target:\n  exchanges:\n    x:\n      rest: [\"https://a.example\"]\n"
      "      order_requests: [\"POST /order\"]\n");
  EXPECT_TRUE(c.warnings.empty()) << c.warnings[0];
  ASSERT_EQ(c.target.exchanges.size(), 1u);
  EXPECT_EQ(c.target.exchanges[0].order_requests, std::vector<std::string>{"POST /order"});
}

TEST(ConfigErrors, OrderRequestsMustBeMethodAndPath) {
  for (const char* bad : {"post /api/v3/order", "POST api/v3/order", "POST", "/api/v3/order",
                          "POST  /order", "POST /a b", "P0ST /order"}) {
    SCOPED_TRACE(bad);
    std::string yaml = std::string("target:\n  exchanges:\n    b:\n      rest: [\"http://x\"]\n") +
                       "      order_requests: [\"" + bad + "\"]\n";
    std::string e = MustFail(yaml);
    EXPECT_TRUE(HasPrefix(e, "t.yaml:5:24: target.exchanges.b.order_requests: '"));
    EXPECT_TRUE(Contains(e, "METHOD /path"));
  }
}

TEST(ConfigUrls, SchemesHostsAndDefaultPorts) {
  // Which list the URL is in, and the endpoint it parses to (its url: as written).
  const std::pair<std::string, Endpoint> cases[] = {
      {"rest", {"http://example.com", "http", "example.com", 80, false}},
      {"rest", {"https://example.com", "https", "example.com", 443, true}},
      {"rest", {"https://example.com:8443/api/v3?x=1", "https", "example.com", 8443, true}},
      {"rest", {"HTTP://10.0.0.1:8080/", "http", "10.0.0.1", 8080, false}},
      {"rest", {"http://[2001:db8::1]", "http", "2001:db8::1", 80, false}},
      {"rest", {"https://[::1]:9443/x", "https", "::1", 9443, true}},
      {"ws", {"ws://stream.example.com", "ws", "stream.example.com", 80, false}},
      {"ws", {"wss://stream.example.com", "wss", "stream.example.com", 443, true}},
      {"ws", {"wss://[fd00::5]:9443/ws", "wss", "fd00::5", 9443, true}},
      {"ws", {"ws://127.0.0.1:1", "ws", "127.0.0.1", 1, false}},
  };
  for (const auto& [list, want] : cases) {
    SCOPED_TRACE(want.url);
    ExpectEndpointEq(UrlIn(list, want.url), want);
  }
}

TEST(ConfigUrls, WrongSchemeIsAnError) {
  std::string e = MustFail("target:\n  exchanges:\n    x:\n      rest: [\"wss://a.example\"]\n");
  EXPECT_TRUE(HasPrefix(e,
                        "t.yaml:4:14: target.exchanges.x.rest: bad URL 'wss://a.example': "
                        "scheme 'wss' is not http or https"));
  e = MustFail("target:\n  exchanges:\n    x:\n      ws: [\"https://a.example\"]\n");
  EXPECT_TRUE(HasPrefix(e,
                        "t.yaml:4:12: target.exchanges.x.ws: bad URL 'https://a.example': "
                        "scheme 'https' is not ws or wss"));
  e = MustFail("target:\n  exchanges:\n    x:\n      rest: [\"ftp://a.example\"]\n");
  EXPECT_TRUE(Contains(e, "scheme 'ftp' is not http or https"));
  e = MustFail("target:\n  exchanges:\n    x:\n      rest: [\"a.example:80\"]\n");
  EXPECT_TRUE(Contains(e, "bad URL 'a.example:80'"));
}

TEST(ConfigUrls, BadHostsAndPorts) {
  for (const char* bad : {"http://", "http://:80", "http://a.example:", "http://a.example:0",
                          "http://a.example:65536", "http://a.example:http", "http://2001:db8::1/",
                          "http://[2001:db8::1", "http://[zz::1]:80", "http://999.1.1.1",
                          "http://user:pw@a.example", "http://a example", "http://a$b.example"}) {
    SCOPED_TRACE(bad);
    std::string e =
        MustFail(std::string("target:\n  exchanges:\n    x:\n      rest: [\"") + bad + "\"]\n");
    EXPECT_TRUE(
        HasPrefix(e, std::string("t.yaml:4:14: target.exchanges.x.rest: bad URL '") + bad + "'"));
  }
}

TEST(ConfigCgroup, RootCgroupIsRefused) {
  std::vector<std::string> roots = {"/",
                                    "/sys/fs/cgroup",
                                    "/sys/fs/cgroup/",
                                    "//sys//fs/cgroup//",
                                    "/sys/fs/cgroup/unified",
                                    "/sys/fs/cgroup/unified/",
                                    "/sys/fs/cgroup/system.slice/..",
                                    "/sys/fs/cgroup/./"};
  for (const std::string& m : Cgroup2Mounts()) roots.push_back(m);
  for (const std::string& root : roots) {
    SCOPED_TRACE(root);
    std::string e = MustFail("chaos: {}\ntarget:\n  cgroup: \"" + root + "\"\n");
    EXPECT_TRUE(HasPrefix(e, "t.yaml:3:11: target.cgroup " + root +
                                 " is the root cgroup: it holds the whole host; name the engine's "
                                 "own cgroup (e.g. "));
  }
}

TEST(ConfigCgroup, ChildCgroupsAreAccepted) {
  for (const char* ok :
       {"/sys/fs/cgroup/system.slice/engine.service", "/sys/fs/cgroup/system.slice/engine.service/",
        "/sys/fs/cgroup/unified/engine", "/sys/fs/cgroup/mm/../engine"}) {
    SCOPED_TRACE(ok);
    EXPECT_EQ(MustParse(std::string("target:\n  cgroup: \"") + ok + "\"\n").target.cgroup, ok);
  }
}

TEST(ConfigExchanges, ResolvePinsAddressesForTheUrlsHostNames) {
  Config c = MustParse(kFull);
  ASSERT_EQ(c.target.exchanges.size(), 2u);
  using Pins = std::map<std::string, std::vector<std::string>>;
  EXPECT_EQ(c.target.exchanges[0].resolve,
            (Pins{{"api.binance.com", {"203.0.113.7", "2001:db8::7"}}}));
  EXPECT_TRUE(c.target.exchanges[1].resolve.empty());
  const std::string head =
      "target:\n  exchanges:\n    x:\n      rest: [\"https://api.x.test\"]\n"
      "      ws: [\"wss://ws.x.test/ws\", \"ws://10.0.0.9:81\"]\n      resolve: ";
  // Duplicates collapse; the ws host counts too.
  EXPECT_EQ(MustParse(head + "{ws.x.test: [10.0.0.1, 10.0.0.1]}\n").target.exchanges[0].resolve,
            (Pins{{"ws.x.test", {"10.0.0.1"}}}));
  EXPECT_TRUE(MustParse(head + "\n").target.exchanges[0].resolve.empty());
  EXPECT_TRUE(Contains(MustFail(head + "{other.test: [10.0.0.1]}\n"),
                       "target.exchanges.x.resolve.other.test: 'other.test' is not the host"));
  EXPECT_TRUE(Contains(MustFail(head + "{10.0.0.9: [10.0.0.1]}\n"), "is an address already"));
  EXPECT_TRUE(Contains(MustFail(head + "{api.x.test: [api2.x.test]}\n"),
                       "'api2.x.test' is not an IPv4 or IPv6 address"));
  EXPECT_TRUE(Contains(MustFail(head + "{api.x.test: []}\n"), "list at least one address"));
  EXPECT_TRUE(Contains(MustFail(head + "[api.x.test]\n"), "expected a map of host name"));
  ExpectRoundTrip(MustParse(head + "{api.x.test: [\"fd00::1\", 10.0.0.1]}\n"));
}

}  // namespace
}  // namespace mmchaos
