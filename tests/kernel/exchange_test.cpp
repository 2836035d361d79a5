// Exchange-protocol faults end to end, with real peers between namespaces: curl against a real
// HTTP server (python3 http.server, keep-alive), dig and getent against dnsmasq, a streaming TCP
// peer for WebSocket-like flows, and an order request whose response is lost.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "harness.h"
#include "traffic.h"

namespace mmchaos::testing {
namespace {

using namespace std::chrono_literals;

struct Faults {
  double exch_429 = 0, exch_5xx = 0, storm = 0, ws_disconnect = 0, dns_flap = 0, reconcile = 0;
  bool dry_run = false;
};

struct ExchangeScene {
  explicit ExchangeScene(bool v6 = false) : v6(v6) {}
  bool v6;
  Topology topo;
  Cgroup target{"target"};
  Cgroup sibling{"sibling"};
  TempDir dir;
  uint16_t http_port = TestPort(7), ws_port = TestPort(8), order_port = TestPort(9);

  std::string Config(const Faults& f) const {
    std::ostringstream y;
    y << "chaos:\n  enabled: true\n  dry_run: " << (f.dry_run ? "true" : "false") << "\n"
      << "  exch_429: " << f.exch_429 << "\n  exch_5xx: " << f.exch_5xx << "\n"
      << "  rate_limit_storm: " << f.storm << "\n  ws_disconnect: " << f.ws_disconnect << "\n"
      << "  dns_flap: " << f.dns_flap << "\n  reconcile_mismatch: " << f.reconcile << "\n"
      << "  burst_on_sec: 3600\n  burst_off_sec: 0\n"
      << "target:\n  cgroup: " << target.path() << "\n  netns: " << topo.engine.path() << "\n"
      << "  interfaces: [" << topo.engine_if << "]\n"
      << "  exchanges:\n    testnet:\n"
      << "      rest: [\"http://" << Host() << ":" << http_port << "\", \"http://" << Host() << ":"
      << order_port << "\"]\n"
      << "      ws: [\"ws://" << topo.exchange_ip << ":" << ws_port << "\"]\n"
      << "      order_requests: [\"POST /api/v3/order\"]\n"
      << "  dns_ports: [53]\n"
      << "metrics:\n  listen: \"127.0.0.1:" << TestPort(1) << "\"\n"
      << "log:\n  injections: " << dir.path() << "/inj.jsonl\n";
    return y.str();
  }

  std::unique_ptr<Controller> Start(const Faults& f) {
    auto c = std::make_unique<Controller>(dir.Write("chaos.yaml", Config(f)));
    EXPECT_TRUE(c->WaitFor("tc hook up", 30s)) << c->output();
    return c;
  }

  // n keep-alive requests in one curl run from a process in cg; returns the status codes.
  std::vector<int> Curl(const Cgroup& cg, int n, const std::string& bodies_dir = "") {
    std::string url = "http://" + Host() + ":" + std::to_string(http_port) + "/index.txt";
    std::ostringstream cmd;
    cmd << "curl -g -sS -w '%{http_code}\\n'";  // -g: [IPv6] hosts are not globs
    for (int i = 0; i < n; ++i)
      cmd << " " << url << " -o "
          << (bodies_dir.empty() ? "/dev/null" : bodies_dir + "/b" + std::to_string(i));
    std::string out = dir.path() + "/codes";
    Process p("sh -c \"" + cmd.str() + " > " + out + "\"", topo.engine, &cg);
    EXPECT_EQ(p.Wait(), 0);
    std::ifstream in(out);
    std::vector<int> codes;
    int c;
    while (in >> c) codes.push_back(c);
    return codes;
  }

  // The exchange's address as a URL host.
  std::string Host() const { return v6 ? "[" + topo.exchange_ip6 + "]" : topo.exchange_ip; }

  std::unique_ptr<Process> HttpServer() {
    dir.Write("www/index.txt", "");
    std::ofstream(dir.path() + "/www/index.txt") << "mmchaos test body\n";
    auto p = std::make_unique<Process>(
        "/usr/bin/python3 -m http.server --protocol HTTP/1.1 --bind " +
            (v6 ? topo.exchange_ip6 : topo.exchange_ip) + " --directory " + dir.path() + "/www " +
            std::to_string(http_port),
        topo.exchange);
    WaitPort(http_port);
    return p;
  }

  void WaitPort(uint16_t port) {
    for (int i = 0; i < 200; ++i) {
      if (Sh("ip netns exec " + topo.exchange.name() +
             " ss -ltn | grep -q ':" + std::to_string(port) + " '") == 0)
        return;
      std::this_thread::sleep_for(50ms);
    }
    ADD_FAILURE() << "nothing listens on " << port;
  }
};

int Count(const std::vector<int>& v, int x) {
  return static_cast<int>(std::count(v.begin(), v.end(), x));
}

TEST(Exchange, Http429AtTheConfiguredRateOnlyForTheTarget) {
  ExchangeScene s;
  std::filesystem::create_directories(s.dir.path() + "/www");
  auto http = s.HttpServer();
  auto t0 = std::chrono::steady_clock::now();
  auto ctl = s.Start({.exch_429 = 0.3});
  auto codes = s.Curl(s.target, 150);
  ASSERT_EQ(codes.size(), 150u);
  int n429 = Count(codes, 429);
  EXPECT_EQ(n429 + Count(codes, 200), 150);
  EXPECT_TRUE(InBinomial999(static_cast<uint64_t>(n429), 150, 0.3)) << n429 << " of 150";
  auto sib = s.Curl(s.sibling, 50);
  EXPECT_EQ(Count(sib, 200), 50) << "a sibling cgroup sees none of it";
  EXPECT_EQ(StatusInjections(StatusFor(s.target.path()), "exch_429", "live"),
            static_cast<uint64_t>(n429));
  // Kernel-observed: the target's one keep-alive connection, and its failed share.
  std::this_thread::sleep_for(1500ms);  // the controller samples request counts once a second
  auto took = std::chrono::steady_clock::now() - t0;  // since before the controller's first sample
  std::string body = Scrape(TestPort(1));
  EXPECT_EQ(Scraped(body, "mm_reconnect_attempts_total", R"(kind="rest")"), 1) << body;
  double rate = Scraped(body, "mm_partial_fail_rate", R"(exchange="testnet",op="other")");
  // The gauge covers the last 10 s: all 150 requests when they took less (exact), the later
  // ones otherwise (slow emulation): then a sample of the same 0.3 draw.
  double tolerance = took < 9500ms ? 1e-9 : 0.12;
  EXPECT_NEAR(rate, n429 / 150.0, tolerance) << body;
  // Kernel-measured latency: every request of the target got a response (a 429 is one), the
  // sibling's are not the engine's.
  EXPECT_EQ(Scraped(body, "mm_rest_latency_seconds_count", R"(exchange="testnet")"), 150) << body;
  EXPECT_GT(Scraped(body, "mm_rest_latency_seconds_sum", R"(exchange="testnet")"), 0) << body;
}

// A request the engine gives up on (it closes the connection before any answer) is a timeout:
// a failure in mm_partial_fail_rate, and no latency sample.
TEST(Exchange, AbandonedRequestsCountAsFailures) {
  ExchangeScene s;
  // A server that accepts, reads and never answers.
  Process mute(
      "/usr/bin/python3 -c \"import socket,time\n"
      "s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
      "s.bind(('" +
          s.topo.exchange_ip + "'," + std::to_string(s.http_port) +
          "))\n"
          "s.listen(64)\nc=[]\nwhile True: c.append(s.accept()[0])\"",
      s.topo.exchange);
  s.WaitPort(s.http_port);
  auto ctl = s.Start({.exch_429 = 0.0});
  std::string url = "http://" + s.Host() + ":" + std::to_string(s.http_port) + "/x";
  for (int i = 0; i < 5; ++i) {
    Process p("curl -sS --max-time 0.3 -o /dev/null " + url, s.topo.engine, &s.target);
    EXPECT_NE(p.Wait(), 0) << "curl must time out";
  }
  std::this_thread::sleep_for(1500ms);  // one request-count sample
  std::string body = Scrape(TestPort(1));
  EXPECT_EQ(Scraped(body, "mm_partial_fail_rate", R"(exchange="testnet",op="other")"), 1.0) << body;
  EXPECT_EQ(Scraped(body, "mm_rest_latency_seconds_count", R"(exchange="testnet")"), 0) << body;
  EXPECT_EQ(Scraped(body, "mm_reconnect_attempts_total", R"(kind="rest")"), 5) << body;
}

TEST(Exchange, Ipv6ResponsesAreRewrittenToo) {
  ExchangeScene s(/*v6=*/true);
  std::filesystem::create_directories(s.dir.path() + "/www");
  auto http = s.HttpServer();
  auto ctl = s.Start({.exch_5xx = 1.0});
  EXPECT_EQ(Count(s.Curl(s.target, 20), 503), 20);
  EXPECT_EQ(Count(s.Curl(s.sibling, 5), 200), 5);
}

TEST(Exchange, Exch5xxAndStormRewriteEveryResponseAtProbabilityOne) {
  ExchangeScene s;
  std::filesystem::create_directories(s.dir.path() + "/www");
  auto http = s.HttpServer();
  {
    auto ctl = s.Start({.exch_5xx = 1.0});
    EXPECT_EQ(Count(s.Curl(s.target, 20), 503), 20);
  }
  {
    auto ctl = s.Start({.exch_429 = 0.0, .storm = 1.0});
    EXPECT_EQ(Count(s.Curl(s.target, 20), 429), 20);
    EXPECT_EQ(StatusInjections(StatusFor(s.target.path()), "rate_limit_storm", "live"), 20u);
  }
}

TEST(Exchange, ShadowModeChangesNotOneByte) {
  ExchangeScene s;
  std::filesystem::create_directories(s.dir.path() + "/www");
  std::filesystem::create_directories(s.dir.path() + "/bodies");
  auto http = s.HttpServer();
  auto ctl = s.Start({.exch_429 = 0.5, .exch_5xx = 0.5, .dry_run = true});
  auto codes = s.Curl(s.target, 50, s.dir.path() + "/bodies");
  EXPECT_EQ(Count(codes, 200), 50);
  for (int i = 0; i < 50; ++i) {
    std::ifstream b(s.dir.path() + "/bodies/b" + std::to_string(i));
    std::stringstream text;
    text << b.rdbuf();
    EXPECT_EQ(text.str(), "mmchaos test body\n") << i;
  }
  auto dp = StatusFor(s.target.path());
  EXPECT_GT(StatusInjections(dp, "exch_429", "shadow"), 0u);
  EXPECT_EQ(StatusInjections(dp, "exch_429", "live"), 0u);
}

TEST(Exchange, DnsFlapAnswersServfailToTheTargetOnly) {
  ExchangeScene s;
  Process dns("dnsmasq --no-daemon --no-resolv --no-hosts --bind-interfaces --listen-address=" +
                  s.topo.exchange_ip + " --port=53 --address=/exchange.test/" + s.topo.exchange_ip +
                  " --pid-file=" + s.dir.path() + "/dnsmasq.pid",
              s.topo.exchange);
  std::this_thread::sleep_for(500ms);
  // getaddrinfo through the engine namespace's resolv.conf (ip netns exec bind-mounts it).
  std::string etc = "/etc/netns/" + s.topo.engine.name();
  std::filesystem::create_directories(etc);
  std::ofstream(etc + "/resolv.conf")
      << "nameserver " << s.topo.exchange_ip << "\noptions attempts:1 timeout:1\n";
  auto dig = [&](const Cgroup& cg) {
    std::string out = s.dir.path() + "/dig";
    Process p(
        "sh -c 'dig +tries=1 +time=2 @" + s.topo.exchange_ip + " exchange.test > " + out + "'",
        s.topo.engine, &cg);
    p.Wait();
    std::ifstream in(out);
    std::stringstream t;
    t << in.rdbuf();
    return t.str();
  };
  auto getent = [&](const Cgroup& cg) {
    Process p("getent ahosts exchange.test", s.topo.engine, &cg);
    return p.Wait();
  };
  EXPECT_NE(dig(s.target).find("status: NOERROR"), std::string::npos) << "dnsmasq answers";
  auto ctl = s.Start({.dns_flap = 1.0});
  EXPECT_NE(dig(s.target).find("status: SERVFAIL"), std::string::npos) << dig(s.target);
  EXPECT_NE(getent(s.target), 0) << "getaddrinfo must fail";
  EXPECT_NE(dig(s.sibling).find("status: NOERROR"), std::string::npos);
  EXPECT_EQ(getent(s.sibling), 0);
  ctl.reset();
  s.dir.Write("chaos.yaml", s.Config({.dns_flap = 1.0}) + "faults:\n  dns_answer: nxdomain\n");
  Controller nx(s.dir.path() + "/chaos.yaml");
  ASSERT_TRUE(nx.WaitFor("tc hook up", 30s)) << nx.output();
  EXPECT_NE(dig(s.target).find("status: NXDOMAIN"), std::string::npos) << dig(s.target);
  std::filesystem::remove_all(etc);
}

TEST(Exchange, WsDisconnectResetsTheTargetsStreamWithinASecond) {
  ExchangeScene s;
  TickServer ws(ListenOn(SocketIn(s.topo.exchange, AF_INET, SOCK_STREAM),
                         s.topo.exchange_ip.c_str(), s.ws_port),
                20000);
  auto ctl = s.Start({.ws_disconnect = 1.0});
  auto run = [&](const Cgroup& cg) {
    std::string ip = s.topo.exchange_ip;
    uint16_t port = s.ws_port;
    int p[2];
    EXPECT_EQ(pipe(p), 0);
    auto t0 = std::chrono::steady_clock::now();
    Child c(cg, s.topo.engine, [&] { return TickClient(ip.c_str(), port, 3000, p[1]); });
    close(p[1]);
    ReadSamples(p[0]);
    close(p[0]);
    int rc = c.Wait();
    return std::pair{rc, std::chrono::steady_clock::now() - t0};
  };
  auto [rc, took] = run(s.target);
  EXPECT_EQ(rc, 1) << "the stream must end in an error (ECONNRESET)";
  EXPECT_LT(took, 2s);
  EXPECT_EQ(run(s.sibling).first, 0) << "a sibling's stream runs its 3 s";
  EXPECT_GT(StatusInjections(StatusFor(s.target.path()), "ws_disconnect", "live"), 0u);
  std::string body = Scrape(TestPort(1));
  EXPECT_EQ(Scraped(body, "mm_reconnect_attempts_total", R"(kind="ws")"), 1)
      << "the target's connect, not the sibling's: " << body;
}

TEST(Exchange, KernelObservesWsGapsWithNoFaultOn) {
  ExchangeScene s;
  TickServer ws(ListenOn(SocketIn(s.topo.exchange, AF_INET, SOCK_STREAM),
                         s.topo.exchange_ip.c_str(), s.ws_port),
                20000);
  auto ctl = s.Start({});
  std::string ip = s.topo.exchange_ip;
  uint16_t port = s.ws_port;
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  Child c(s.target, s.topo.engine, [&] { return TickClient(ip.c_str(), port, 1000, p[1]); });
  close(p[1]);
  auto samples = ReadSamples(p[0]);
  close(p[0]);
  EXPECT_EQ(c.Wait(), 0);
  std::string body = Scrape(TestPort(1));
  double count = Scraped(body, "mm_ws_gap_ms_count", "");
  EXPECT_GE(count, samples.size() * 0.8) << body;  // segments may coalesce a few messages
  EXPECT_GE(Scraped(body, "mm_ws_gap_ms_bucket", R"(le="25")"), count * 0.8)
      << "20 ms ticks fall under 25 ms: " << body;
  EXPECT_EQ(Scraped(body, "mm_reconnect_attempts_total", R"(kind="ws")"), 1) << body;
}

// An order request reaches the exchange (it echoes, like an ack), the ack never reaches the
// engine: its connection is reset when the response arrives.
int OrderRoundTrip(const char* ip, uint16_t port, const char* request) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, ip, &a.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) return 10;
  if (write(fd, request, strlen(request)) < 0) return 11;
  char buf[256];
  ssize_t n = read(fd, buf, sizeof(buf));
  int rc = n > 0 ? 0 : (n < 0 && errno == ECONNRESET ? 1 : 12);
  close(fd);
  return rc;
}

TEST(Exchange, ReconcileMismatchLosesTheOrderAckAfterTheExchangeGotIt) {
  ExchangeScene s;
  TcpEchoServer exchange(ListenOn(SocketIn(s.topo.exchange, AF_INET, SOCK_STREAM),
                                  s.topo.exchange_ip.c_str(), s.order_port));
  auto ctl = s.Start({.reconcile = 1.0});
  std::string ip = s.topo.exchange_ip;
  uint16_t port = s.order_port;
  const char* order = "POST /api/v3/order HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n";
  const char* query = "GET /api/v3/time HTTP/1.1\r\nHost: x\r\n\r\n";
  Child placed(s.target, s.topo.engine, [&] { return OrderRoundTrip(ip.c_str(), port, order); });
  EXPECT_EQ(placed.Wait(), 1) << "the engine must see a reset";
  EXPECT_GE(exchange.bytes_received(), strlen(order)) << "the exchange got the order";
  Child time(s.target, s.topo.engine, [&] { return OrderRoundTrip(ip.c_str(), port, query); });
  EXPECT_EQ(time.Wait(), 0) << "non-order requests are answered";
  Child sib(s.sibling, s.topo.engine, [&] { return OrderRoundTrip(ip.c_str(), port, order); });
  EXPECT_EQ(sib.Wait(), 0) << "a sibling's order is answered";
  EXPECT_EQ(StatusInjections(StatusFor(s.target.path()), "reconcile_mismatch", "live"), 1u);
}

}  // namespace
}  // namespace mmchaos::testing
