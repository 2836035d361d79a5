// Exchange-protocol faults end to end, with real peers between namespaces: curl against a real
// HTTP server (python3 http.server, keep-alive), dig and getent against dnsmasq, a streaming TCP
// peer for WebSocket-like flows, a python3-websockets client against the mock exchange's stream,
// and an order request whose response is lost.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "harness.h"
#include "traffic.h"

namespace mmchaos::testing {
namespace {

using namespace std::chrono_literals;

struct Faults {
  double exch_429 = 0, exch_5xx = 0, storm = 0, ws_disconnect = 0, dns_flap = 0, reconcile = 0;
  double net_loss = 0;
  bool dry_run = false;
  std::string dns_answer = "servfail";
  double on_sec = 3600, off_sec = 0;  // the burst schedule (default: always on)
};

struct ExchangeScene {
  explicit ExchangeScene(bool v6 = false) : v6(v6) {}
  bool v6;
  bool tls = false;  // the mock exchange's stream is wss:// (a throwaway CA in dir)
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
      << "  net_loss: " << f.net_loss << "\n"
      << "  burst_on_sec: " << f.on_sec << "\n  burst_off_sec: " << f.off_sec << "\n"
      << "target:\n  cgroup: " << target.path() << "\n  netns: " << topo.engine.path() << "\n"
      << "  interfaces: [" << topo.engine_if << "]\n"
      << "  exchanges:\n    testnet:\n"
      << "      rest: [\"http://" << Host() << ":" << http_port << "\", \"http://" << Host() << ":"
      << order_port << "\"]\n"
      << "      ws: [\"" << (tls ? "wss" : "ws") << "://" << topo.exchange_ip << ":" << ws_port
      << "\"]\n"
      << "      order_requests: [\"POST /api/v3/order\"]\n"
      << "  dns_ports: [53]\n"
      << "faults:\n  dns_answer: " << f.dns_answer << "\n"
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
    WaitPort(http_port);
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
    return p;  // Curl() waits for it to listen: python starts (~1 s under TCG) as mmchaos does
  }

  // The project's mock exchange in the exchange namespace: its WebSocket stream (/ws, a tick
  // every 50 ms) on ws_port, REST on http_port.
  std::unique_ptr<Process> MockExchange() {
    std::string tls_args;
    if (tls) {
      EXPECT_EQ(std::system((std::string(MAKE_PKI_SH) + " " + dir.path() + "/pki " +
                             topo.exchange_ip + " >/dev/null 2>&1")
                                .c_str()),
                0);
      tls_args = " --tls-cert " + dir.path() + "/pki/server.pem --tls-key " + dir.path() +
                 "/pki/server.key";
    }
    auto p =
        std::make_unique<Process>(std::string(REF_EXCHANGE_BIN) + " --listen " + topo.exchange_ip +
                                      " --rest-port " + std::to_string(http_port) + " --ws-port " +
                                      std::to_string(ws_port) + " --rate 0 --tick-ms 50" + tls_args,
                                  topo.exchange);
    WaitPort(ws_port);
    return p;
  }

  // Starts the python3-websockets client loop (tests/support/ws_client.py) in cg against the
  // mock exchange's stream for `seconds`; its JSON-lines events go to dir/<name>.jsonl.
  std::unique_ptr<Process> WsClient(const Cgroup& cg, const std::string& name, double seconds) {
    return std::make_unique<Process>(
        "sh -c '/usr/bin/python3 " + std::string(WS_CLIENT_PY) + " --url " +
            (tls ? "wss://" : "ws://") + topo.exchange_ip + ":" + std::to_string(ws_port) + "/ws" +
            (tls ? " --cafile " + dir.path() + "/pki/ca.pem" : std::string()) + " --seconds " +
            std::to_string(seconds) + " > " + dir.path() + "/" + name + ".jsonl'",
        topo.engine, &cg);
  }

  std::vector<nlohmann::json> WsEvents(const std::string& name) const {
    std::ifstream in(dir.path() + "/" + name + ".jsonl");
    std::vector<nlohmann::json> out;
    std::string line;
    while (std::getline(in, line)) {
      auto j = nlohmann::json::parse(line, nullptr, false);
      EXPECT_FALSE(j.is_discarded()) << line;
      if (!j.is_discarded()) out.push_back(j);
    }
    return out;
  }

  void WaitPort(uint16_t port) { WaitListening(topo.exchange, {port}); }
};

int Count(const std::vector<int>& v, int x) {
  return static_cast<int>(std::count(v.begin(), v.end(), x));
}

// How the tc hook attaches decides what the interface sees. With tcx links (6.6+: this project's
// host and the 6.12 qemu lane) its qdiscs are exactly as before while the hook runs, `status`
// lists the link, and it is gone with the controller. Without (6.1) a clsact is added where there
// was none. Either way the interface is as before after the run.
TEST(TcHook, InterfaceQdiscsUntouchedWithTcxAndRestoredEitherWay) {
  if (TcxExpected()) {
    ASSERT_TRUE(TcxHere()) << "this lane's kernel must have tcx links";
  }
  ExchangeScene s;
  const std::string qdiscs =
      "ip netns exec " + s.topo.engine.name() + " tc -j qdisc show dev " + s.topo.engine_if;
  const std::string before = Capture(qdiscs);
  auto ctl = s.Start({.exch_429 = 0.1});
  const bool tcx = TcxHere();
  EXPECT_NE(ctl->output().find(tcx ? "(tcx)" : "(clsact)"), std::string::npos) << ctl->output();
  if (tcx) {
    EXPECT_EQ(Capture(qdiscs), before);
    auto dp = StatusFor(s.target.path());
    ASSERT_FALSE(dp.is_null()) << Status().dump();
    int tcx_links = 0;
    for (const auto& l : dp["links"])
      if (l["hook"] == "tcx") {
        ++tcx_links;
        EXPECT_EQ(l["prog"], "mmc_tc_ingress");
        EXPECT_NE(l["ifindex"].get<uint32_t>(), 0u);
      }
    EXPECT_EQ(tcx_links, 1) << dp.dump() << " (exchange faults need no egress hook)";
  } else {
    EXPECT_NE(Capture(qdiscs).find("clsact"), std::string::npos);
  }
  ctl->Signal(SIGTERM);
  EXPECT_EQ(ctl->Wait(20s), 0) << ctl->output();
  EXPECT_EQ(Capture(qdiscs), before);
  EXPECT_TRUE(StatusFor(s.target.path()).is_null()) << Status().dump();
}

TEST(Exchange, Http429AtTheConfiguredRateOnlyForTheTarget) {
  ExchangeScene s;
  std::filesystem::create_directories(s.dir.path() + "/www");
  auto http = s.HttpServer();
  auto t0 = std::chrono::steady_clock::now();
  auto ctl = s.Start({.exch_429 = 0.3});
  // Every label set the config names is there before the first request.
  const std::string first = Scrape(TestPort(1));
  for (const char* op :
       {R"(exchange="testnet",op="other")", R"(exchange="testnet",op="POST /api/v3/order")"})
    EXPECT_EQ(Scraped(first, "mm_partial_fail_rate", op), 0.0) << op << "\n" << first;
  EXPECT_EQ(Scraped(first, "mm_chaos_injection_failures_total", R"(scenario="exch_429")"), 0.0);
  constexpr int kN = 100;
  auto codes = s.Curl(s.target, kN);
  ASSERT_EQ(codes.size(), static_cast<size_t>(kN));
  int n429 = Count(codes, 429);
  EXPECT_EQ(n429 + Count(codes, 200), kN);
  EXPECT_TRUE(InBinomial999(static_cast<uint64_t>(n429), kN, 0.3)) << n429 << " of " << kN;
  auto sib = s.Curl(s.sibling, 20);
  EXPECT_EQ(Count(sib, 200), 20) << "a sibling cgroup sees none of it";
  EXPECT_EQ(StatusInjections(StatusFor(s.target.path()), "exch_429", "live"),
            static_cast<uint64_t>(n429));
  // Kernel-observed: the target's one keep-alive connection, and its failed share.
  std::this_thread::sleep_for(1500ms);  // the controller samples request counts once a second
  auto took = std::chrono::steady_clock::now() - t0;  // since before the controller's first sample
  std::string body = Scrape(TestPort(1));
  EXPECT_EQ(Scraped(body, "mm_reconnect_attempts_total", R"(kind="rest")"), 1) << body;
  double rate = Scraped(body, "mm_partial_fail_rate", R"(exchange="testnet",op="other")");
  // The gauge covers the last 10 s: all the requests when they took less (exact), the later
  // ones otherwise (slow emulation): then a sample of the same 0.3 draw.
  double tolerance = took < 9500ms ? 1e-9 : 0.15;
  EXPECT_NEAR(rate, n429 / static_cast<double>(kN), tolerance) << body;
  // Kernel-measured latency: every request of the target got a response (a 429 is one), the
  // sibling's are not the engine's.
  EXPECT_EQ(Scraped(body, "mm_rest_latency_seconds_count", R"(exchange="testnet")"), kN) << body;
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

// The egress hook skips the request-line check on a plaintext REST flow after a data segment
// that started no request, until the exchange sends more (the engine's ACK number moves): a bulk
// flow pays it once, not per packet. A request that follows an answer is still accounted.
// A request whose segments net_loss drops costs the engine its retransmissions; the kernel's
// latency (mm_rest_latency_seconds) counts from when the engine sent it, not from the first
// copy that got through, so the two agree. On 1 s / off 1 s at net_loss 1.0: the engine's
// keep-alive connection answers one request in an off-phase, then sends one 100 ms into an
// on-phase, which gets through with a retransmission in the next off-phase (1.2 s later here).
TEST(Exchange, ALostRequestsLatencyIncludesItsRetransmissions) {
  ExchangeScene s;
  std::filesystem::create_directories(s.dir.path() + "/www");
  auto http = s.HttpServer();
  s.WaitPort(s.http_port);
  auto ctl = s.Start({.net_loss = 1.0, .on_sec = 1, .off_sec = 1});
  auto dp = StatusFor(s.target.path());
  ASSERT_FALSE(dp.is_null()) << ctl->output();
  const std::string epoch = std::to_string(dp["burst"]["epoch_mono_ns"].get<uint64_t>());
  const std::string ep = "('" + s.topo.exchange_ip + "'," + std::to_string(s.http_port) + ")";
  const std::string out = s.dir.path() + "/took";
  Process engine(
      "/usr/bin/python3 -c \"import socket,time\n"
      "E=" +
          epoch +
          "\nP=2000000000\n"
          "def at(off):\n"
          " t=time.clock_gettime_ns(time.CLOCK_MONOTONIC); w=E+(t-E)//P*P+off\n"
          " time.sleep(((w if w>t else w+P)-t)/1e9)\n"
          "def get(c):\n"
          " t=time.monotonic(); c.sendall(b'GET /index.txt HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n')\n"
          " b=b''\n"
          " while not b.endswith(b'body\\n'): b+=c.recv(4096)\n"
          " return time.monotonic()-t\n"
          "at(1050000000)\nc=socket.create_connection(" +
          ep +
          ")\n"
          "c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)\na=get(c)\n"
          "at(100000000)\nb=get(c)\n"
          "open('" +
          out +
          "','w').write('%f %f' % (a, b))\n"
          "c.close()\"",
      s.topo.engine, &s.target);
  ASSERT_EQ(engine.Wait(), 0);
  double warm = 0, lost = 0;
  std::ifstream(out) >> warm >> lost;
  ASSERT_GT(lost, 0.5) << "the on-phase request was not lost: " << lost << " s";
  std::this_thread::sleep_for(1500ms);  // one request-count sample
  std::string body = Scrape(TestPort(1));
  EXPECT_EQ(Scraped(body, "mm_rest_latency_seconds_count", R"(exchange="testnet")"), 2) << body;
  EXPECT_NEAR(Scraped(body, "mm_rest_latency_seconds_sum", R"(exchange="testnet")"), warm + lost,
              0.03)
      << "engine: " << warm << " s + " << lost << " s\n"
      << body;
  EXPECT_GT(StatusInjections(StatusFor(s.target.path()), "net_loss", "live"), 0u);
}

TEST(Exchange, RequestAfterNonHttpDataOnARestFlowIsCounted) {
  ExchangeScene s;
  const std::string ep = "('" + s.topo.exchange_ip + "'," + std::to_string(s.http_port) + ")";
  Process server(
      "/usr/bin/python3 -c \"import socket\n"
      "s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
      "s.bind(" +
          ep +
          ")\ns.listen(8)\nc=s.accept()[0]\nb=b''\n"
          "while len(b)<3000: b+=c.recv(65536)\n"
          "c.sendall(b'ok')\nb=b''\n"
          "while not b.endswith(b'\\r\\n\\r\\n'): b+=c.recv(65536)\n"
          "c.sendall(b'HTTP/1.1 200 OK\\r\\nContent-Length: 0\\r\\n\\r\\n')\nc.recv(10)\"",
      s.topo.exchange);
  s.WaitPort(s.http_port);
  auto ctl = s.Start({.exch_429 = 0.0});
  Process engine(
      "/usr/bin/python3 -c \"import socket,time\n"
      "c=socket.create_connection(" +
          ep +
          ")\n"
          "c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)\n"
          "for i in range(3): c.sendall(b'x'*1000); time.sleep(0.05)\n"
          "c.recv(2)\n"
          "c.sendall(b'GET /a HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n')\n"
          "c.recv(100)\nc.close()\"",
      s.topo.engine, &s.target);
  EXPECT_EQ(engine.Wait(), 0);
  std::this_thread::sleep_for(1500ms);  // one request-count sample
  std::string body = Scrape(TestPort(1));
  EXPECT_EQ(Scraped(body, "mm_rest_latency_seconds_count", R"(exchange="testnet")"), 1) << body;
  EXPECT_EQ(Scraped(body, "mm_partial_fail_rate", R"(exchange="testnet",op="other")"), 0.0) << body;
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

// Sends n DNS queries (exchange.test, A) to server:53, each from its own connected socket (a new
// flow, as a stub resolver makes one), gap_us apart; wait_ms after the last, writes to out_fd how
// many got a NOERROR answer. System calls only: it runs in a forked child.
int DnsQueries(const char* server, int n, uint32_t gap_us, int wait_ms, int out_fd) {
  static constexpr int kMax = 256;
  static const char kQuestion[] =
      "\x08"
      "exchange\x04test\x00\x00\x01\x00\x01";
  UniqueFd fds[kMax];
  if (n > kMax) return 2;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(53);
  inet_pton(AF_INET, server, &a.sin_addr);
  for (int i = 0; i < n; ++i) {
    unsigned char q[12 + sizeof(kQuestion) - 1] = {};
    q[0] = static_cast<unsigned char>(i >> 8), q[1] = static_cast<unsigned char>(i);
    q[2] = 0x01;  // RD
    q[5] = 1;     // one question
    std::memcpy(q + 12, kQuestion, sizeof(kQuestion) - 1);
    fds[i].reset(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!fds[i] || connect(fds[i].get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
        send(fds[i].get(), q, sizeof(q), 0) != static_cast<ssize_t>(sizeof(q)))
      return 3;
    usleep(gap_us);
  }
  usleep(static_cast<useconds_t>(wait_ms) * 1000);
  int answered = 0;
  for (int i = 0; i < n; ++i) {
    unsigned char r[512];
    ssize_t len = recv(fds[i].get(), r, sizeof(r), 0);
    if (len >= 12 && r[0] == (i >> 8 & 0xff) && r[1] == (i & 0xff) && (r[2] & 0x80) &&
        (r[3] & 0x0f) == 0)
      ++answered;
    fds[i].reset();
  }
  return write(out_fd, &answered, sizeof(answered)) == sizeof(answered) ? 0 : 4;
}

// dnsmasq in the exchange namespace answering exchange.test, and the engine namespace's
// resolv.conf pointing at it (`ip netns exec` bind-mounts /etc/netns/<ns>/resolv.conf), so
// getaddrinfo in the engine namespace asks it.
struct DnsPeer {
  explicit DnsPeer(ExchangeScene& s)
      : s(s),
        etc("/etc/netns/" + s.topo.engine.name()),
        dnsmasq("dnsmasq --no-daemon --no-resolv --no-hosts --bind-interfaces --listen-address=" +
                    s.topo.exchange_ip + " --port=53 --address=/exchange.test/" +
                    s.topo.exchange_ip + " --pid-file=" + s.dir.path() + "/dnsmasq.pid",
                s.topo.exchange) {
    s.WaitPort(53);
    std::filesystem::create_directories(etc);
    std::ofstream(etc + "/resolv.conf")
        << "nameserver " << s.topo.exchange_ip << "\noptions attempts:1 timeout:1\n";
  }
  ~DnsPeer() { std::filesystem::remove_all(etc); }

  // One dig query from a process in cg: its exit code (9: no reply) and output.
  std::pair<int, std::string> Dig(const Cgroup& cg, int time_sec = 2) {
    std::string out = s.dir.path() + "/dig";
    Process p("sh -c 'dig +tries=1 +time=" + std::to_string(time_sec) + " @" + s.topo.exchange_ip +
                  " exchange.test > " + out + "'",
              s.topo.engine, &cg);
    int rc = p.Wait();
    std::ifstream in(out);
    std::stringstream t;
    t << in.rdbuf();
    return {rc, t.str()};
  }

  // getaddrinfo (getent ahosts) from a process in cg: its exit code (0: resolved).
  int Getent(const Cgroup& cg) {
    Process p("getent ahosts exchange.test", s.topo.engine, &cg);
    return p.Wait();
  }

  // n queries from a process in cg (DnsQueries): how many were answered NOERROR.
  int Queries(const Cgroup& cg, int n) {
    std::string ip = s.topo.exchange_ip;
    Pipe p = MakePipe();
    EXPECT_TRUE(p.read);
    Child c(cg, s.topo.engine,
            [&] { return DnsQueries(ip.c_str(), n, 2000, 1500, p.write.get()); });
    p.write.reset();
    int answered = -1;
    EXPECT_EQ(read(p.read.get(), &answered, sizeof(answered)),
              static_cast<ssize_t>(sizeof(answered)));
    EXPECT_EQ(c.Wait(), 0);
    return answered;
  }

  ExchangeScene& s;
  std::string etc;
  Process dnsmasq;
};

TEST(Exchange, DnsFlapAnswersServfailToTheTargetOnly) {
  ExchangeScene s;
  DnsPeer dns(s);
  EXPECT_NE(dns.Dig(s.target).second.find("status: NOERROR"), std::string::npos)
      << "dnsmasq answers";
  auto ctl = s.Start({.dns_flap = 1.0});
  EXPECT_NE(dns.Dig(s.target).second.find("status: SERVFAIL"), std::string::npos)
      << dns.Dig(s.target).second;
  EXPECT_NE(dns.Getent(s.target), 0) << "getaddrinfo must fail";
  EXPECT_NE(dns.Dig(s.sibling).second.find("status: NOERROR"), std::string::npos);
  EXPECT_EQ(dns.Getent(s.sibling), 0);
  ctl.reset();
  auto nx = s.Start({.dns_flap = 1.0, .dns_answer = "nxdomain"});
  EXPECT_NE(dns.Dig(s.target).second.find("status: NXDOMAIN"), std::string::npos)
      << dns.Dig(s.target).second;
}

TEST(Exchange, DnsFlapTimeoutLeavesTheTargetsQueriesUnanswered) {
  ExchangeScene s;
  DnsPeer dns(s);
  auto ctl = s.Start({.dns_flap = 1.0, .dns_answer = "timeout"});
  auto [rc, out] = dns.Dig(s.target, 1);
  EXPECT_EQ(rc, 9) << "dig's exit code for no reply: " << out;
  EXPECT_NE(out.find("timed out"), std::string::npos) << out;
  EXPECT_EQ(dns.Getent(s.target), 2) << "getaddrinfo must fail (getent: 2, not found/EAI_AGAIN)";
  auto [sib_rc, sib_out] = dns.Dig(s.sibling, 1);
  EXPECT_EQ(sib_rc, 0) << sib_out;
  EXPECT_NE(sib_out.find("status: NOERROR"), std::string::npos) << sib_out;
  EXPECT_EQ(dns.Getent(s.sibling), 0) << "a sibling cgroup resolves";
  EXPECT_GE(StatusInjections(StatusFor(s.target.path()), "dns_flap", "live"), 2u)
      << "dig's answer and getaddrinfo's";
}

// 2,000 answers, in batches of 200 queries (one socket each): at this size a second decision on
// any answer (p_eff = 1 - 0.7^2 = 0.51) or a lost answer the data plane did not choose would
// fall far outside the interval, and the live count would differ from the answers missing.
TEST(Exchange, DnsFlapTimeoutDropsAnswersAtTheConfiguredRate) {
  ExchangeScene s;
  DnsPeer dns(s);
  constexpr int kBatch = 200, kN = 10 * kBatch;
  auto ctl = s.Start({.dns_flap = 0.3, .dns_answer = "timeout"});
  int answered = 0;
  for (int b = 0; b < kN / kBatch; ++b) {
    int a = dns.Queries(s.target, kBatch);
    ASSERT_GE(a, 0);
    answered += a;
  }
  uint64_t lost = static_cast<uint64_t>(kN - answered);
  std::printf("dns_flap timeout 0.3: %llu of %d answers dropped\n",
              static_cast<unsigned long long>(lost), kN);
  EXPECT_TRUE(InBinomial999(lost, kN, 0.3)) << lost << " of " << kN << " unanswered";
  EXPECT_EQ(StatusInjections(StatusFor(s.target.path()), "dns_flap", "live"), lost)
      << "every unanswered query is one the data plane dropped";
  EXPECT_EQ(dns.Queries(s.sibling, 50), 50) << "a sibling cgroup's queries are all answered";
}

TEST(Exchange, DnsFlapTimeoutInShadowModeAnswersEveryQuery) {
  ExchangeScene s;
  DnsPeer dns(s);
  constexpr int kN = 200;
  auto ctl = s.Start({.dns_flap = 0.3, .dry_run = true, .dns_answer = "timeout"});
  EXPECT_EQ(dns.Queries(s.target, kN), kN) << "shadow mode drops nothing";
  auto dp = StatusFor(s.target.path());
  uint64_t shadow = StatusInjections(dp, "dns_flap", "shadow");
  EXPECT_TRUE(InBinomial999(shadow, kN, 0.3)) << shadow << " of " << kN << " counted";
  EXPECT_EQ(StatusInjections(dp, "dns_flap", "live"), 0u);
  auto [rc, out] = dns.Dig(s.target, 1);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(dns.Getent(s.target), 0);
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
    Pipe p = MakePipe();
    EXPECT_TRUE(p.read);
    auto t0 = std::chrono::steady_clock::now();
    Child c(cg, s.topo.engine, [&] { return TickClient(ip.c_str(), port, 3000, p.write.get()); });
    p.write.reset();
    ReadSamples(p.read.get());
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

std::vector<nlohmann::json> Events(const std::vector<nlohmann::json>& all, const char* event) {
  std::vector<nlohmann::json> out;
  for (const auto& e : all)
    if (e.value("event", "") == event) out.push_back(e);
  return out;
}

std::string Lines(const std::vector<nlohmann::json>& all) {
  std::string out;
  for (const auto& e : all) out += e.dump() + "\n";
  return out;
}

// The sibling's client (same exchange, same path, outside the target) streamed for `seconds` on
// its first connection, never reset.
void ExpectSiblingStreamedOn(const ExchangeScene& s, double seconds) {
  auto sib = s.WsEvents("sibling");
  auto sib_done = Events(sib, "done");
  ASSERT_EQ(sib_done.size(), 1u) << Lines(sib);
  EXPECT_EQ(sib_done[0]["attempts"], 1)
      << "a sibling on the same path is never reset: " << Lines(sib);
  EXPECT_EQ(sib_done[0]["closed"], 0) << Lines(sib);
  EXPECT_GE(sib_done[0]["messages"].get<double>(), 0.5 * seconds / 0.05) << Lines(sib);
}

// A real third-party WebSocket client (Debian's python3-websockets) on the engine's side, the
// project's mock exchange as the peer. Bursts of 1.5 s every 3 s: between them the client
// streams, at each burst start its stream is reset and its reconnects fail until the burst ends.
// 7 s of client hold at least two burst starts.
// tls: the same over wss://, as real exchanges stream (python's ssl verifying the throwaway CA):
// the reset is TCP's, under TLS, and each reconnect is a new TLS handshake.
void WsDisconnectResetsARealClientThatReconnects(bool tls) {
  ExchangeScene s;
  s.tls = tls;
  auto exchange = s.MockExchange();
  constexpr double kOn = 1.5, kOff = 1.5, kRun = 7;
  auto ctl = s.Start({.ws_disconnect = 1.0, .on_sec = kOn, .off_sec = kOff});
  auto dp = StatusFor(s.target.path());
  ASSERT_FALSE(dp.is_null());
  const double epoch = dp["burst"]["epoch_mono_ns"].get<uint64_t>() / 1e9;
  auto since_burst_start = [&](double t) { return std::fmod(t - epoch, kOn + kOff); };
  {
    auto target = s.WsClient(s.target, "target", kRun);
    auto sibling = s.WsClient(s.sibling, "sibling", kRun);
    EXPECT_EQ(target->Wait(), 0);
    EXPECT_EQ(sibling->Wait(), 0);
  }
  auto ev = s.WsEvents("target");
  auto done = Events(ev, "done");
  ASSERT_EQ(done.size(), 1u) << Lines(ev);
  auto closed = Events(ev, "closed");
  auto failed = Events(ev, "failed");
  // Open streams at (at least) two burst starts: each is reset, not left to stall.
  EXPECT_GE(closed.size(), 2u) << Lines(ev);
  for (const auto& c : closed) {
    EXPECT_EQ(c["cause"], "ConnectionResetError") << "a reset, not an EOF or a stall: " << c;
    ASSERT_GT(c["messages"].get<int>(), 0) << c;
    double t = c["t"].get<double>();
    // A stall would last until a ping timed out (20 s and more); the error comes where the next
    // 50 ms tick would have (slack for a loaded emulator).
    EXPECT_LT(t - c["last_message_t"].get<double>(), 1.0)
        << "the error comes where the next message would have: " << c;
    // Draws are once per connection per second, so the reset comes within a second (plus a
    // tick, plus the client's own latency) of the burst start.
    EXPECT_LT(since_burst_start(t), 1.6) << "burst epoch " << epoch << ": " << c;
  }
  for (const auto& f : failed)
    EXPECT_LT(since_burst_start(f["t"].get<double>()), kOn + 0.5)
        << "only bursts fail the handshake: " << f;
  // It reconnects: a stream is open again after the first reset.
  ASSERT_FALSE(closed.empty());
  double first_reset = closed.front()["t"].get<double>();
  auto opens = Events(ev, "open");
  EXPECT_TRUE(std::any_of(opens.begin(), opens.end(), [&](const auto& o) {
    return o["t"].template get<double>() > first_reset;
  })) << Lines(ev);
  // The kernel counts every connect() of the client (the hook was attached before it started),
  // and nothing of the sibling's; every reset is one injection.
  uint64_t attempts = done[0]["attempts"].get<uint64_t>();
  EXPECT_EQ(done[0]["reconnects"].get<uint64_t>(), attempts - 1);
  std::string body = Scrape(TestPort(1));
  EXPECT_EQ(Scraped(body, "mm_reconnect_attempts_total", R"(kind="ws")"),
            static_cast<double>(attempts))
      << body << Lines(ev);
  // The client's last connection may be reset in its closing handshake, which it does not report.
  uint64_t resets = StatusInjections(StatusFor(s.target.path()), "ws_disconnect", "live");
  EXPECT_GE(resets, closed.size() + failed.size()) << Lines(ev);
  EXPECT_LE(resets, closed.size() + failed.size() + 1) << Lines(ev);
  std::fprintf(stderr,
               "client: %llu attempts, %zu streams reset, %zu handshakes reset; kernel: %g "
               "connects, %llu resets\n",
               static_cast<unsigned long long>(attempts), closed.size(), failed.size(),
               Scraped(body, "mm_reconnect_attempts_total", R"(kind="ws")"),
               static_cast<unsigned long long>(resets));

  ExpectSiblingStreamedOn(s, kRun);
}

TEST(Exchange, WsDisconnectResetsARealWebSocketClientThatReconnects) {
  WsDisconnectResetsARealClientThatReconnects(false);
}

TEST(Exchange, WsDisconnectResetsAWssClientThatReconnects) {
  WsDisconnectResetsARealClientThatReconnects(true);
}

TEST(Exchange, WsDisconnectInShadowModeCountsAndResetsNothing) {
  ExchangeScene s;
  auto exchange = s.MockExchange();
  auto ctl = s.Start({.ws_disconnect = 1.0, .dry_run = true});
  constexpr double kRun = 3;
  s.WsClient(s.target, "target", kRun)->Wait();
  auto ev = s.WsEvents("target");
  auto done = Events(ev, "done");
  ASSERT_EQ(done.size(), 1u) << Lines(ev);
  EXPECT_EQ(done[0]["attempts"], 1) << Lines(ev);
  EXPECT_EQ(done[0]["closed"], 0);
  EXPECT_EQ(done[0]["failed"], 0);
  EXPECT_GE(done[0]["messages"].get<double>(), 0.5 * kRun / 0.05) << Lines(ev);
  auto dp = StatusFor(s.target.path());
  // One draw per connection per second, each a hit at probability 1.
  EXPECT_GE(StatusInjections(dp, "ws_disconnect", "shadow"), 2u);
  EXPECT_EQ(StatusInjections(dp, "ws_disconnect", "live"), 0u);
  EXPECT_EQ(Scraped(Scrape(TestPort(1)), "mm_reconnect_attempts_total", R"(kind="ws")"), 1);
}

TEST(Exchange, KernelObservesWsGapsWithNoFaultOn) {
  ExchangeScene s;
  TickServer ws(ListenOn(SocketIn(s.topo.exchange, AF_INET, SOCK_STREAM),
                         s.topo.exchange_ip.c_str(), s.ws_port),
                20000);
  auto ctl = s.Start({});
  std::string ip = s.topo.exchange_ip;
  uint16_t port = s.ws_port;
  Pipe p = MakePipe();
  ASSERT_TRUE(p.read);
  Child c(s.target, s.topo.engine,
          [&] { return TickClient(ip.c_str(), port, 1000, p.write.get()); });
  p.write.reset();
  auto samples = ReadSamples(p.read.get());
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
  UniqueFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, ip, &a.sin_addr);
  if (connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) return 10;
  if (write(fd.get(), request, strlen(request)) < 0) return 11;
  char buf[256];
  ssize_t n = read(fd.get(), buf, sizeof(buf));
  return n > 0 ? 0 : (n < 0 && errno == ECONNRESET ? 1 : 12);
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
