// exch_429 / exch_5xx / rate_limit_storm and reconcile_mismatch on TLS endpoints, preload
// mechanism, end to end with
// peers that are not ours: python's http.server in an ssl context (a throwaway certificate made
// with the openssl command) in the exchange namespace; curl (OpenSSL: SSL_read/SSL_write) and
// python3's http.client (SSL_read_ex/SSL_write_ex) started through `mmchaos exec`, verifying the
// server against the certificate. Counts inside the 99.9% binomial interval over >= 200
// requests, on keep-alive and on new connections; a storm burst turns every response into 429;
// shadow mode counts and changes no byte; a process with the same libssl and the same preload in
// a sibling cgroup gets nothing; every rollback path stops the rewrites (SIGKILL: within two
// heartbeats); reconcile_mismatch loses the answers of the order requests it chooses, by their
// request line, and no other. Runs on any kernel (no BPF in the engine's path).
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>

#include "cgroup/cgroup.h"
#include "clock/clock_state.h"
#include "harness.h"
#include "tls_peers.h"
#include "traffic.h"

namespace mmchaos::testing {
namespace {

using namespace std::chrono_literals;

constexpr int kN = 200;
constexpr const char* kOrder = "POST /api/v3/order";
const std::string kBody = "mmchaos tls test body\n";

struct TlsKnobs {
  double exch_429 = 0, exch_5xx = 0, storm = 0, reconcile = 0;
  bool dry_run = false;
  bool enabled = true;
  int heartbeat_ms = 100;
};

struct Response {
  uint64_t mono_ns = 0;
  int status = 0;
  std::string body_sha;
};

class TlsScene {
 public:
  TlsScene() {
    const std::string d = dir.path();
    std::filesystem::create_directories(d + "/www");
    std::ofstream(d + "/www/index.txt") << kBody;
    // A throwaway self-signed certificate for the exchange's address: its own CA.
    EXPECT_EQ(
        Sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
           "-days 1 -subj /CN=mmchaos-test-exchange -addext subjectAltName=IP:" +
           topo.exchange_ip + " -keyout " + d + "/key.pem -out " + d + "/cert.pem 2>/dev/null"),
        0);
    server = std::make_unique<Process>(
        "/usr/bin/python3 " + std::string(HTTPS_SERVER_PY) + " --bind " + topo.exchange_ip +
            " --port " + std::to_string(port) + " --cert " + d + "/cert.pem --key " + d +
            "/key.pem --directory " + d + "/www --posts " + d + "/posts",
        topo.exchange);
    body_sha = Capture("sha256sum " + d + "/www/index.txt | cut -d' ' -f1");
    body_sha.erase(body_sha.find_last_not_of('\n') + 1);
  }

  std::string Config(const Cgroup& cg, const TlsKnobs& k, const std::string& name) const {
    std::ostringstream y;
    y << "chaos:\n  enabled: " << (k.enabled ? "true" : "false")
      << "\n  dry_run: " << (k.dry_run ? "true" : "false") << "\n  exch_429: " << k.exch_429
      << "\n  exch_5xx: " << k.exch_5xx << "\n  rate_limit_storm: " << k.storm
      << "\n  reconcile_mismatch: " << k.reconcile << "\n  burst_on_sec: 3600\n  burst_off_sec: 0\n"
      << "target:\n  cgroup: " << cg.path() << "\n  netns: " << topo.engine.path()
      << "\n  interfaces: [" << topo.engine_if << "]\n  heartbeat_ms: " << k.heartbeat_ms
      << "\n  exchanges:\n    testnet:\n      rest: [\"https://" << topo.exchange_ip << ":" << port
      << "\"]\n      order_requests: [\"" << kOrder << "\"]\n"
      << "faults:\n  status_5xx: 502\n  tls_mechanism: preload\n"
      << "metrics:\n  listen: \"127.0.0.1:" << TestPort(1) << "\"\n"
      << "log:\n  injections: " << dir.path() << "/inj.jsonl\n";
    return dir.Write(name, y.str());
  }

  // curl through `mmchaos exec`: n requests on one keep-alive connection, or each on its own
  // (Connection: close). Status codes in order; each body must be the file's.
  std::vector<int> Curl(const std::string& cfg, int n, bool new_connections) {
    WaitListening(topo.exchange, {port});
    const std::string url =
        "https://" + topo.exchange_ip + ":" + std::to_string(port) + "/index.txt";
    const std::string out = dir.path() + "/curl.out", bodies = dir.path() + "/bodies";
    std::ofstream(out).close();
    std::ostringstream cmd;
    cmd << MmchaosBin() << " exec -c " << cfg << " -- curl -sS --cacert " << dir.path()
        << "/cert.pem -w '%{http_code}\\n'" << (new_connections ? " -H 'Connection: close'" : "");
    for (int i = 0; i < n; ++i) cmd << " " << url << " -o " << bodies << i;
    cmd << " > " << out;
    EXPECT_EQ(Sh(cmd.str()), 0) << cmd.str();
    std::ifstream in(out);
    std::vector<int> codes;
    int c;
    while (in >> c) codes.push_back(c);
    for (int i = 0; i < n; ++i) {
      std::ifstream b(bodies + std::to_string(i));
      std::string got((std::istreambuf_iterator<char>(b)), std::istreambuf_iterator<char>());
      EXPECT_EQ(got, kBody) << "response " << i << ": the body is the server's";
    }
    return codes;
  }

  // python3 http.client through `mmchaos exec` (or, with exec false, plainly in cg).
  // With requests ("METHOD /path" lines, cycled), a request whose connection fails is status -1.
  std::vector<Response> Python(const std::string& cfg, int n, bool new_connections,
                               double interval_ms = 0,
                               const std::vector<std::string>& requests = {}) {
    WaitListening(topo.exchange, {port});
    std::ostringstream cmd;
    cmd << MmchaosBin() << " exec -c " << cfg << " -- /usr/bin/python3 " << HTTPS_CLIENT_PY
        << " --host " << topo.exchange_ip << " --port " << port << " --cafile " << dir.path()
        << "/cert.pem --count " << n << " --interval-ms " << interval_ms
        << (new_connections ? " --new-connections" : "");
    if (!requests.empty()) cmd << " --requests";
    for (const auto& r : requests) cmd << " '" << r << "'";
    int rc = 0;
    std::string out = Capture(cmd.str(), &rc);
    EXPECT_EQ(rc, 0) << cmd.str();
    std::vector<Response> v;
    std::istringstream in(out);
    Response r;
    while (in >> r.mono_ns >> r.status >> r.body_sha) v.push_back(r);
    return v;
  }

  // The orders the exchange received (their paths, one a line).
  int Posts() const {
    std::ifstream in(dir.path() + "/posts");
    std::string line;
    int n = 0;
    while (std::getline(in, line)) n += line == "/api/v3/order";
    return n;
  }

  std::unique_ptr<Controller> Start(const std::string& cfg) {
    auto c = std::make_unique<Controller>(cfg);
    EXPECT_TRUE(c->WaitFor("tls: preload", 30s)) << c->output();
    return c;
  }

  Topology topo;
  Cgroup target{"target"};
  Cgroup sibling{"sibling"};
  TempDir dir;
  uint16_t port = TestPort(7);
  std::unique_ptr<Process> server;
  std::string body_sha;
};

int Count(const std::vector<int>& v, int x) {
  return static_cast<int>(std::count(v.begin(), v.end(), x));
}

uint64_t Live(const std::string& cgroup, const char* scn, const char* mode = "live") {
  auto dp = StatusFor(cgroup);
  return dp.is_null() ? 0 : StatusInjections(dp, scn, mode);
}

TEST(TlsPreload, Curl429AtTheConfiguredRateOnKeepAliveAndNewConnections) {
  TlsScene s;
  auto ctl = s.Start(s.Config(s.target, {.exch_429 = 0.3}, "chaos.yaml"));
  const std::string cfg = s.dir.path() + "/chaos.yaml";
  int total429 = 0;
  for (bool fresh : {false, true}) {
    SCOPED_TRACE(fresh ? "new connections" : "keep-alive");
    auto codes = s.Curl(cfg, kN, fresh);
    ASSERT_EQ(codes.size(), static_cast<size_t>(kN));
    const int n429 = Count(codes, 429);
    EXPECT_EQ(n429 + Count(codes, 200), kN);
    EXPECT_TRUE(InBinomial999(static_cast<uint64_t>(n429), kN, 0.3)) << n429 << " of " << kN;
    total429 += n429;
  }
  // Counted by the preloads in the shared record: status and the metrics say the same.
  EXPECT_EQ(Live(s.target.path(), "exch_429"), static_cast<uint64_t>(total429));
  EXPECT_EQ(Scraped(Scrape(TestPort(1)), "mm_chaos_injections_total",
                    "mode=\"live\",scenario=\"exch_429\""),
            total429);
  // The same curl, libssl and preload in a sibling cgroup: no controller runs for it.
  auto sib = s.Curl(s.Config(s.sibling, {.exch_429 = 0.3}, "sibling.yaml"), 50, false);
  EXPECT_EQ(Count(sib, 200), 50) << "a sibling cgroup sees none of it";
}

// REST accounting of the TLS flows by the preload, where libssl holds the plaintext (the kernel
// sees only records there): requests by op (the order_requests line), failures by the status the
// engine got (a 429 injected here is a 429), latency; counted in the shared record and added by
// the controller to the data plane's figures, once per request: the cgroup hooks count none of
// them. python3 (SSL_write_ex / SSL_read_ex) on keep-alive, GETs and orders in turn, exch_429 at
// p = 0.3.
TEST(TlsPreload, RestAccountingByOpAndStatusEqualsTheClients) {
  TlsScene s;
  const std::string cfg = s.Config(s.target, {.exch_429 = 0.3}, "chaos.yaml");
  auto ctl = s.Start(cfg);
  const std::string first = Scrape(TestPort(1));
  for (const char* op : {"other", kOrder})
    EXPECT_EQ(Scraped(first, "mm_rest_requests_total",
                      "exchange=\"testnet\",op=\"" + std::string(op) + "\""),
              0.0)
        << op << ": named from the first scrape, as on plaintext flows\n"
        << first;
  auto v = s.Python(cfg, kN, false, 0, {"GET /index.txt", kOrder});
  ASSERT_EQ(v.size(), static_cast<size_t>(kN));
  int other = 0, other429 = 0, orders = 0, order429 = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    const bool order = i % 2 == 1;
    (order ? orders : other)++;
    if (v[i].status == 429) {
      (order ? order429 : other429)++;
    } else {
      EXPECT_EQ(v[i].status, 200) << i;
    }
  }
  EXPECT_TRUE(InBinomial999(static_cast<uint64_t>(other429 + order429), kN, 0.3));
  EXPECT_EQ(Live(s.target.path(), "exch_429"), static_cast<uint64_t>(other429 + order429));
  std::this_thread::sleep_for(1500ms);  // the controller samples request counts once a second
  const std::string body = Scrape(TestPort(1));
  auto scraped = [&](const char* name, const std::string& op) {
    return Scraped(body, name, "exchange=\"testnet\",op=\"" + op + "\"");
  };
  EXPECT_EQ(scraped("mm_rest_requests_total", "other"), other) << body;
  EXPECT_EQ(scraped("mm_rest_request_failures_total", "other"), other429) << body;
  EXPECT_EQ(scraped("mm_rest_requests_total", kOrder), orders) << body;
  EXPECT_EQ(scraped("mm_rest_request_failures_total", kOrder), order429) << body;
  EXPECT_LT(scraped("mm_rest_requests_total", "request"), 0) << "no op \"request\" (TLS records)";
  EXPECT_EQ(Scraped(body, "mm_rest_latency_seconds_count", R"(exchange="testnet")"), kN) << body;
  EXPECT_GT(Scraped(body, "mm_rest_latency_seconds_sum", R"(exchange="testnet")"), 0) << body;
}

// Interim answers (100 Continue) reach the engine untouched and the final response after them is
// the one decided and accounted, as on plaintext flows: curl's order POSTs (the 100 its own
// read) and python's (the 100 and the final head in one read), exch_429 at p = 0.3.
TEST(TlsPreload, InterimAnswersPassAndTheFinalResponseIsDecided) {
  TlsScene s;
  const std::string cfg = s.Config(s.target, {.exch_429 = 0.3}, "chaos.yaml");
  auto ctl = s.Start(cfg);
  WaitListening(s.topo.exchange, {s.port});
  const std::string ca = s.dir.path() + "/cert.pem",
                    exec = MmchaosBin() + " exec -c " + cfg + " -- ";
  const std::string trace = s.dir.path() + "/curl.trace";
  const std::string origin = "https://" + s.topo.exchange_ip + ":" + std::to_string(s.port);
  int rc = 0;
  auto curl = Statuses(Capture(exec + CurlExpectContinue(ca, origin, kN / 2, trace), &rc), false);
  EXPECT_EQ(rc, 0);
  auto python = Statuses(
      Capture(exec + PythonExpectContinue(s.topo.exchange_ip, s.port, ca, kN / 2), &rc), true);
  EXPECT_EQ(rc, 0);
  std::this_thread::sleep_for(1500ms);  // the controller samples request counts once a second
  ExpectInterimPassedAndFinalDecided(curl, ContinuesSeen(trace), python, kN / 2,
                                     Live(s.target.path(), "exch_429"), Scrape(TestPort(1)));
}

// An engine started with `mmchaos exec` before any controller: from the moment the controller
// says it is armed, every request it sends is decided (exch_429 at p = 1), none waits for the
// preload's once-a-second look at the clock record.
TEST(TlsPreload, AnEngineStartedFirstIsCoveredFromTheControllersStart) {
  TlsScene s;
  const std::string cfg = s.Config(s.target, {.exch_429 = 1.0}, "chaos.yaml");
  auto engine = std::async(std::launch::async, [&] { return s.Python(cfg, 150, false, 20); });
  std::this_thread::sleep_for(700ms);
  auto ctl = s.Start(cfg);
  const uint64_t armed = MonoNs();
  auto v = engine.get();
  ASSERT_EQ(v.size(), 150u);
  int before = 0, after = 0;
  for (const auto& r : v) {
    if (r.mono_ns < armed) {
      before++;
      continue;
    }
    after++;
    EXPECT_EQ(r.status, 429) << "sent " << (r.mono_ns - armed) / 1000 << " us after the start";
  }
  EXPECT_GT(before, 0) << "the engine ran before the controller";
  EXPECT_GT(after, 50);
}

// HTTP/2 (ALPN h2), which neither mechanism can follow, is reported, not run silently: curl
// --http2 through HAProxy (TLS with h2 and http/1.1 offered) gets the proxy's responses unchanged
// with exch_429 at p = 1, and the controller says its connection speaks HTTP/2; curl --http1.1
// through the same proxy gets every response as 429.
TEST(TlsPreload, Http2ConnectionsAreReportedAndHttp1OnesRewritten) {
  TlsScene s;
  const std::string pem = s.dir.path() + "/haproxy.pem";
  ASSERT_EQ(Sh("cat " + s.dir.path() + "/cert.pem " + s.dir.path() + "/key.pem > " + pem), 0);
  s.port = TestPort(8);  // the exchange's endpoint is the proxy
  Process haproxy("haproxy -db -f " +
                      s.dir.Write("haproxy.cfg", HaproxyH2Config(s.topo.exchange_ip, s.port, pem)),
                  s.topo.exchange);
  const std::string cfg = s.Config(s.target, {.exch_429 = 1.0}, "chaos.yaml");
  auto ctl = s.Start(cfg);
  WaitListening(s.topo.exchange, {s.port});
  const std::string exec = MmchaosBin() + " exec -c " + cfg + " -- ";
  const std::string ca = s.dir.path() + "/cert.pem";
  const std::string origin = "https://" + s.topo.exchange_ip + ":" + std::to_string(s.port);
  int rc = 0;
  auto h2 = Statuses(Capture(exec + CurlVersion(ca, origin, 5, "--http2"), &rc), false);
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(h2, std::vector<int>(5, 200)) << "HTTP/2's frames pass unchanged";
  EXPECT_TRUE(ctl->WaitFor("tls: 1 TLS connection(s) of the engine speak HTTP/2", 10s))
      << ctl->output();
  auto h1 = Statuses(Capture(exec + CurlVersion(ca, origin, 5, "--http1.1"), &rc), false);
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(h1, std::vector<int>(5, 429));
}

TEST(TlsPreload, PythonHttpClient5xxAtTheConfiguredRate) {
  TlsScene s;
  const std::string cfg = s.Config(s.target, {.exch_5xx = 0.25}, "chaos.yaml");
  auto ctl = s.Start(cfg);
  int total = 0;
  for (bool fresh : {false, true}) {
    SCOPED_TRACE(fresh ? "new connections" : "keep-alive");
    auto v = s.Python(cfg, kN, fresh);
    ASSERT_EQ(v.size(), static_cast<size_t>(kN));
    int n502 = 0;
    for (const auto& r : v) {
      EXPECT_TRUE(r.status == 200 || r.status == 502) << r.status;
      EXPECT_EQ(r.body_sha, s.body_sha) << "the body is the server's";
      n502 += r.status == 502;
    }
    EXPECT_TRUE(InBinomial999(static_cast<uint64_t>(n502), kN, 0.25)) << n502 << " of " << kN;
    total += n502;
  }
  EXPECT_EQ(Live(s.target.path(), "exch_5xx"), static_cast<uint64_t>(total));
}

TEST(TlsPreload, StormBurstTurnsEveryResponseInto429) {
  TlsScene s;
  const std::string cfg = s.Config(s.target, {.storm = 1.0}, "chaos.yaml");
  auto ctl = s.Start(cfg);
  auto codes = s.Curl(cfg, 50, false);
  EXPECT_EQ(Count(codes, 429), 50);
  auto v = s.Python(cfg, 50, true);
  ASSERT_EQ(v.size(), 50u);
  for (const auto& r : v) EXPECT_EQ(r.status, 429);
  EXPECT_EQ(Live(s.target.path(), "rate_limit_storm"), 100u);
}

// Shadow mode decides and counts every response and changes no byte: statuses and bodies are
// the server's (bodies byte for byte, statuses all 200), the shadow count is every response.
TEST(TlsPreload, ShadowCountsEveryResponseAndChangesNoByte) {
  TlsScene s;
  const std::string cfg =
      s.Config(s.target, {.exch_429 = 1.0, .exch_5xx = 1.0, .dry_run = true}, "chaos.yaml");
  auto ctl = s.Start(cfg);
  auto codes = s.Curl(cfg, kN, false);
  EXPECT_EQ(Count(codes, 200), kN);
  auto v = s.Python(cfg, kN, true);
  ASSERT_EQ(v.size(), static_cast<size_t>(kN));
  for (const auto& r : v) {
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body_sha, s.body_sha);
  }
  EXPECT_EQ(Live(s.target.path(), "exch_429", "shadow"), 2u * kN);
  EXPECT_EQ(Live(s.target.path(), "exch_5xx", "shadow"), 2u * kN) << "as the data plane's chain";
  EXPECT_EQ(Live(s.target.path(), "exch_429"), 0u);
}

// The order requests' answers are lost at the configured rate (inside the 99.9% interval over
// 2 x 200 orders, on keep-alive and on new connections), each order reaching the exchange; the
// GET requests in between are all answered, so the choice is by request line (the data plane
// sees only encrypted records and would lose any request's answer). curl (SSL_read) gets a
// reset where python (SSL_read_ex) gets an SSL EOF error.
TEST(TlsPreload, ReconcileLosesTheAnswersOfChosenOrderRequestsOnly) {
  TlsScene s;
  const std::string cfg = s.Config(s.target, {.reconcile = 0.3}, "chaos.yaml");
  auto ctl = s.Start(cfg);
  int orders = 0, lost = 0;
  for (bool fresh : {false, true}) {
    SCOPED_TRACE(fresh ? "new connections" : "keep-alive");
    auto v = s.Python(cfg, 2 * kN, fresh, 0, {kOrder, "GET /index.txt"});
    ASSERT_EQ(v.size(), 2u * kN);
    int n = 0;
    for (size_t i = 0; i < v.size(); ++i) {
      if (i % 2) {
        EXPECT_EQ(v[i].status, 200) << "request " << i << " is not an order: answered";
        EXPECT_EQ(v[i].body_sha, s.body_sha);
        continue;
      }
      EXPECT_TRUE(v[i].status == 200 || v[i].status == -1) << v[i].status;
      n += v[i].status == -1;
    }
    EXPECT_TRUE(InBinomial999(static_cast<uint64_t>(n), kN, 0.3)) << n << " of " << kN;
    orders += kN;
    lost += n;
  }
  EXPECT_EQ(s.Posts(), orders) << "the exchange processed every order, answered or not";
  EXPECT_EQ(Live(s.target.path(), "reconcile_mismatch"), static_cast<uint64_t>(lost));
}

// Always on: curl's order requests (SSL_read) fail with the connection reset and reach the
// exchange, its GET is answered; shadow mode answers every order and counts each.
TEST(TlsPreload, ReconcileCurlResetAndShadowAnswersEveryOrder) {
  TlsScene s;
  const std::string live = s.Config(s.target, {.reconcile = 1.0}, "live.yaml");
  const std::string url = "https://" + s.topo.exchange_ip + ":" + std::to_string(s.port);
  {
    auto ctl = s.Start(live);
    WaitListening(s.topo.exchange, {s.port});
    for (int i = 0; i < 5; ++i) {
      std::string out =
          Capture(MmchaosBin() + " exec -c " + live + " -- curl -sS --cacert " + s.dir.path() +
                  "/cert.pem -X POST -d '{}' " + url + "/api/v3/order 2>&1");
      EXPECT_NE(out.find("reset"), std::string::npos) << out;
    }
    EXPECT_EQ(Count(s.Curl(live, 3, false), 200), 3) << "GET is not an order request";
    EXPECT_EQ(Live(s.target.path(), "reconcile_mismatch"), 5u);
  }
  EXPECT_EQ(s.Posts(), 5);
  const std::string shadow = s.Config(s.target, {.reconcile = 1.0, .dry_run = true}, "shadow.yaml");
  auto ctl = s.Start(shadow);
  auto v = s.Python(shadow, 100, false, 0, {kOrder, "GET /index.txt"});
  ASSERT_EQ(v.size(), 100u);
  for (const auto& r : v) EXPECT_EQ(r.status, 200);
  EXPECT_EQ(Live(s.target.path(), "reconcile_mismatch", "shadow"), 50u);
  EXPECT_EQ(Live(s.target.path(), "reconcile_mismatch"), 0u);
  EXPECT_EQ(s.Posts(), 55);
}

class TlsRollback : public ::testing::TestWithParam<Path> {};

// The engine keeps requesting (every response a 429 while armed); after the trigger every
// response is the server's again (SIGKILL: within two heartbeats, the record's dead-man).
TEST_P(TlsRollback, RewritesStop) {
  TlsScene s;
  TlsKnobs k{.exch_429 = 1.0, .heartbeat_ms = 100};
  const std::string cfg = s.Config(s.target, k, "chaos.yaml");
  auto ctl = s.Start(cfg);
  auto client = std::async(std::launch::async, [&] { return s.Python(cfg, 150, false, 10); });
  // Armed and rewriting before the trigger.
  auto until = std::chrono::steady_clock::now() + 30s;
  while (Live(s.target.path(), "exch_429") < 30 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(20ms);
  ASSERT_GE(Live(s.target.path(), "exch_429"), 30u) << "no rewrite before the trigger";
  const uint64_t trigger = MonoNs();
  PullRollback(
      GetParam(), *ctl,
      [&] {
        k.enabled = false;
        s.Config(s.target, k, "chaos.yaml");
      },
      false);
  const uint64_t done = MonoNs();
  auto v = client.get();
  ASSERT_EQ(v.size(), 150u);
  // A request sent after `stop` (the client stamps each line with its send time) is answered
  // after the trigger took effect.
  ExpectRewritesStopped(v, trigger,
                        GetParam() == Path::kSigkill
                            ? trigger + 2ULL * k.heartbeat_ms * 1000000ULL + 20000000ULL
                            : done);
  if (GetParam() == Path::kSighupDisabled) ctl->Signal(SIGTERM);
  if (GetParam() == Path::kSigkill) {
    // Left armed with a dead heartbeat, beside the controller's state record: what the
    // operator's `mmchaos rollback` removes.
    auto id = CgroupId(s.target.path());
    ASSERT_TRUE(id.has_value());
    EXPECT_TRUE(std::filesystem::exists(ClockStatePath(*id)));
    EXPECT_EQ(ctl->Wait(5s), 128 + SIGKILL);
    ExpectRollbackAfterCrash(ClockStatePath(*id));
  }
}

INSTANTIATE_TEST_SUITE_P(AllPaths, TlsRollback, AllPaths(), PathName);

}  // namespace
}  // namespace mmchaos::testing
