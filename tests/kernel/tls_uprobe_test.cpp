// exch_429 / exch_5xx / rate_limit_storm on TLS endpoints, uprobe mechanism, end to end with
// peers that are not ours: python's http.server in an ssl context (a throwaway CA and server
// certificate from scripts/make-pki.sh) in the exchange namespace; curl (OpenSSL: SSL_read /
// SSL_write) and python3's http.client (SSL_read_ex / SSL_write_ex) started plainly in the target
// cgroup (no `mmchaos exec`, no preload), verifying the server against the CA. Counts inside the
// 99.9% binomial interval over >= 200 requests, on keep-alive and on new connections; status lines
// split across reads of one byte; a storm burst turns every response into 429; shadow mode counts
// and changes no byte; a process with the same libssl in a sibling cgroup gets nothing; every
// rollback path leaves no rewrite behind.
//
// Where the kernel refuses bpf_probe_write_user (lockdown: the 6.18 host) the mechanism cannot run
// and these skip with the reason; in the qemu lanes (MMCHAOS_IN_VM) they must run. TlsUprobeHost
// runs everywhere: refused with the reason under lockdown, chosen otherwise.
#include "tls/tls_uprobe.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>
#include <utility>

#include "harness.h"
#include "joined.h"
#include "tls_peers.h"
#include "traffic.h"
#include "uprobe/load_refusal.h"

namespace mmchaos::testing {
namespace {

using namespace std::chrono_literals;

constexpr int kN = 200;
const std::string kBody = "mmchaos tls uprobe test body\n";

struct Knobs {
  double exch_429 = 0, exch_5xx = 0, storm = 0;
  bool dry_run = false;
  bool enabled = true;
  std::string mechanism = "uprobe";
};

struct Response {
  uint64_t mono_ns = 0;
  int status = 0;
  std::string body_sha;
};

// The uprobe mechanism can run here, or the test skips (a failure in the qemu lanes).
#define REQUIRE_TLS_UPROBES()                                                     \
  do {                                                                            \
    Result<void> probe = ProbeTlsUprobe();                                        \
    if (!probe) {                                                                 \
      const std::string why = probe.error().message();                            \
      if (std::getenv("MMCHAOS_IN_VM"))                                           \
        FAIL() << "the qemu lane must run the TLS uprobe mechanism: " << why;     \
      GTEST_SKIP() << "this kernel cannot run the TLS uprobe mechanism: " << why; \
    }                                                                             \
  } while (0)

class Scene {
 public:
  Scene() {
    const std::string d = dir.path();
    std::filesystem::create_directories(d + "/www");
    std::ofstream(d + "/www/index.txt") << kBody;
    EXPECT_EQ(Sh(std::string(MAKE_PKI_SH) + " " + d + "/pki " + topo.exchange_ip), 0);
    server = std::make_unique<Process>(
        "/usr/bin/python3 " + std::string(HTTPS_SERVER_PY) + " --bind " + topo.exchange_ip +
            " --port " + std::to_string(port) + " --cert " + d + "/pki/server.pem --key " + d +
            "/pki/server.key --directory " + d + "/www",
        topo.exchange);
    body_sha = Capture("sha256sum " + d + "/www/index.txt | cut -d' ' -f1");
    body_sha.erase(body_sha.find_last_not_of('\n') + 1);
  }

  std::string Config(const Knobs& k, const std::string& name = "chaos.yaml") const {
    std::ostringstream y;
    y << "chaos:\n  enabled: " << (k.enabled ? "true" : "false")
      << "\n  dry_run: " << (k.dry_run ? "true" : "false") << "\n  exch_429: " << k.exch_429
      << "\n  exch_5xx: " << k.exch_5xx << "\n  rate_limit_storm: " << k.storm
      << "\n  burst_on_sec: 3600\n  burst_off_sec: 0\n"
      << "target:\n  cgroup: " << target.path() << "\n  netns: " << topo.engine.path()
      << "\n  interfaces: [" << topo.engine_if << "]\n  heartbeat_ms: 100"
      << "\n  exchanges:\n    testnet:\n      rest: [\"https://" << topo.exchange_ip << ":" << port
      << "\"]\n      order_requests: [\"POST /api/v3/order\"]\n"
      << "faults:\n  status_5xx: 502\n  tls_mechanism: " << k.mechanism << "\n"
      << "metrics:\n  listen: \"127.0.0.1:" << TestPort(1) << "\"\n"
      << "log:\n  injections: " << dir.path() << "/inj.jsonl\n";
    return dir.Write(name, y.str());
  }

  // cmd's stdout, run in cg and the engine's namespace as the process that joined cg. In the
  // target, once a controller was started, cmd runs only once that process is covered (the
  // controller's "tls: pid N (comm) covered by the uprobes" line, see JoinedProcess): every
  // request is seen. The pids are kept in pids.
  std::string InCgroup(const Cgroup& cg, const std::string& cmd, int* rc = nullptr) {
    WaitListening(topo.exchange, {port});
    Controller* ctl = &cg == &target ? ctl_.load() : nullptr;
    JoinedProcess client(cg, "ip netns exec " + topo.engine.name() + " " + cmd, dir.path(), ctl,
                         "tls");
    std::string out = client.Output(rc);
    if (client.pid()) pids.push_back(client.pid());
    return out;
  }

  std::string Url() const {
    return "https://" + topo.exchange_ip + ":" + std::to_string(port) + "/index.txt";
  }

  // curl: n requests on one keep-alive connection, or each on its own (Connection: close).
  // Status codes in order; each body must be the file's.
  std::vector<int> Curl(const Cgroup& cg, int n, bool new_connections) {
    const std::string bodies = dir.path() + "/bodies";
    std::ostringstream cmd;
    cmd << "curl -sS --cacert " << dir.path() << "/pki/ca.pem -w '%{http_code}\\n'"
        << (new_connections ? " -H 'Connection: close'" : "");
    for (int i = 0; i < n; ++i) cmd << " " << Url() << " -o " << bodies << i;
    int rc = 0;
    std::string out = InCgroup(cg, cmd.str(), &rc);
    EXPECT_EQ(rc, 0) << cmd.str();
    std::istringstream in(out);
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

  // python3 http.client (SSL_read_ex/SSL_write_ex).
  std::vector<Response> Python(const Cgroup& cg, int n, bool new_connections,
                               double interval_ms = 0) {
    std::ostringstream args;
    args << " --interval-ms " << interval_ms << (new_connections ? " --new-connections" : "");
    return Client(cg, HTTPS_CLIENT_PY, n, args.str(), true);
  }

  // Keep-alive requests whose response heads are read recv_bytes at a time.
  std::vector<Response> Raw(const Cgroup& cg, int n, int recv_bytes) {
    return Client(cg, HTTPS_RAW_CLIENT_PY, n, " --recv " + std::to_string(recv_bytes), false);
  }

  // https_client.py in cg: n requests; its lines ("[mono_ns] status body_sha") as responses.
  std::vector<Response> Client(const Cgroup& cg, const char* script, int n, const std::string& args,
                               bool stamped) {
    std::ostringstream cmd;
    cmd << "/usr/bin/python3 " << script << " --host " << topo.exchange_ip << " --port " << port
        << " --cafile " << dir.path() << "/pki/ca.pem --count " << n << args;
    int rc = 0;
    std::string out = InCgroup(cg, cmd.str(), &rc);
    EXPECT_EQ(rc, 0) << cmd.str();
    std::vector<Response> v;
    std::istringstream in(out);
    Response r;
    while ((!stamped || in >> r.mono_ns) && in >> r.status >> r.body_sha) v.push_back(r);
    return v;
  }

  std::unique_ptr<Controller> Start(const std::string& cfg) {
    auto c = std::make_unique<Controller>(cfg);
    EXPECT_TRUE(c->WaitFor("tls: uprobes on", 30s)) << c->output();
    ctl_ = c.get();
    return c;
  }

  Topology topo;
  Cgroup target{"target"};
  Cgroup sibling{"sibling"};
  TempDir dir;
  uint16_t port = TestPort(7);
  std::unique_ptr<Process> server;
  std::string body_sha;
  std::vector<pid_t> pids;                 // of the clients, in order
  std::atomic<Controller*> ctl_{nullptr};  // the last started (a client may start before it)
};

int Count(const std::vector<int>& v, int x) {
  return static_cast<int>(std::count(v.begin(), v.end(), x));
}

uint64_t Injections(const std::string& cgroup, const char* scn, const char* mode = "live") {
  auto dp = StatusFor(cgroup);
  return dp.is_null() ? 0 : StatusInjections(dp, scn, mode);
}

// The kernel's REST accounting of the testnet exchange's op, from /metrics (the controller
// samples the request counts once a second: the caller waited for one sample).
struct Accounted {
  double requests = 0, failures = 0;
};

Accounted AccountedFor(const std::string& body, const std::string& op) {
  const std::string labels = "exchange=\"testnet\",op=\"" + op + "\"";
  return {Scraped(body, "mm_rest_requests_total", labels),
          Scraped(body, "mm_rest_request_failures_total", labels)};
}

// curl: exch_429 at p = 0.3 over 200 requests, on one keep-alive connection or each on its own
// (one test each: 200 TLS requests take ~50 s under TCG).
void Curl429(bool fresh) {
  Scene s;
  auto ctl = s.Start(s.Config({.exch_429 = 0.3}));
  auto codes = s.Curl(s.target, kN, fresh);
  ASSERT_EQ(codes.size(), static_cast<size_t>(kN));
  const int n429 = Count(codes, 429);
  EXPECT_EQ(n429 + Count(codes, 200), kN);
  EXPECT_TRUE(InBinomial999(static_cast<uint64_t>(n429), kN, 0.3)) << n429 << " of " << kN;
  // Counted in the data plane's per-CPU counters: status and the metrics say the same.
  EXPECT_EQ(Injections(s.target.path(), "exch_429"), static_cast<uint64_t>(n429));
  EXPECT_EQ(Scraped(Scrape(TestPort(1)), "mm_chaos_injections_total",
                    "mode=\"live\",scenario=\"exch_429\""),
            n429);
}

TEST(TlsUprobe, Curl429AtTheConfiguredRateOnKeepAlive) {
  REQUIRE_TLS_UPROBES();
  Curl429(false);
}

TEST(TlsUprobe, Curl429AtTheConfiguredRateOnNewConnections) {
  REQUIRE_TLS_UPROBES();
  Curl429(true);
}

// python3 http.client (SSL_read_ex/SSL_write_ex): exch_5xx at p = 0.25, bodies untouched.
void Python5xx(bool fresh) {
  Scene s;
  auto ctl = s.Start(s.Config({.exch_5xx = 0.25}));
  auto v = s.Python(s.target, kN, fresh);
  ASSERT_EQ(v.size(), static_cast<size_t>(kN));
  int n502 = 0;
  for (const auto& r : v) {
    EXPECT_TRUE(r.status == 200 || r.status == 502) << r.status;
    EXPECT_EQ(r.body_sha, s.body_sha) << "the body is the server's";
    n502 += r.status == 502;
  }
  EXPECT_TRUE(InBinomial999(static_cast<uint64_t>(n502), kN, 0.25)) << n502 << " of " << kN;
  EXPECT_EQ(Injections(s.target.path(), "exch_5xx"), static_cast<uint64_t>(n502));
  // Accounted in libssl (SSL_write_ex / SSL_read_ex here), by the status python got: every
  // request once (the cgroup hooks count none of them), each 502 a failure, each a latency
  // sample.
  std::this_thread::sleep_for(1500ms);
  const std::string body = Scrape(TestPort(1));
  const Accounted a = AccountedFor(body, "other");
  EXPECT_EQ(a.requests, kN) << body;
  EXPECT_EQ(a.failures, n502) << body;
  EXPECT_EQ(Scraped(body, "mm_rest_latency_seconds_count", R"(exchange="testnet")"), kN) << body;
}

// REST accounting on a TLS flow, read where libssl holds the plaintext: request starts and ends,
// op by the order_requests line, failures by the status the engine got (a 429 injected here is
// a 429), latency. curl (SSL_write / SSL_read) on one keep-alive connection: 200 GETs, then
// order requests (POST /api/v3/order), exch_429 at p = 0.3. /metrics says what curl says, once
// per request: the cgroup hooks, which see only TLS records, count none of them.
TEST(TlsUprobe, RestAccountingByOpAndStatusEqualsTheClients) {
  REQUIRE_TLS_UPROBES();
  Scene s;
  auto ctl = s.Start(s.Config({.exch_429 = 0.3}));
  const std::string first = Scrape(TestPort(1));
  for (const char* op : {"other", "POST /api/v3/order"}) {
    EXPECT_EQ(Scraped(first, "mm_partial_fail_rate",
                      "exchange=\"testnet\",op=\"" + std::string(op) + "\""),
              0.0)
        << op << ": named from the first scrape, as on plaintext flows\n"
        << first;
  }
  auto codes = s.Curl(s.target, kN, false);
  ASSERT_EQ(codes.size(), static_cast<size_t>(kN));
  const int n429 = Count(codes, 429);
  EXPECT_EQ(n429 + Count(codes, 200), kN);
  constexpr int kOrders = 40;
  std::ostringstream cmd;
  cmd << "curl -sS --cacert " << s.dir.path() << "/pki/ca.pem -w '%{http_code}\\n' -d '{}'";
  const std::string order_url =
      "https://" + s.topo.exchange_ip + ":" + std::to_string(s.port) + "/api/v3/order";
  for (int i = 0; i < kOrders; ++i) cmd << " " << order_url << " -o /dev/null";
  const auto t0 = std::chrono::steady_clock::now();
  int rc = 0;
  std::istringstream out(s.InCgroup(s.target, cmd.str(), &rc));
  EXPECT_EQ(rc, 0) << cmd.str();
  std::vector<int> orders;
  for (int c; out >> c;) orders.push_back(c);
  ASSERT_EQ(orders.size(), static_cast<size_t>(kOrders));
  const int order429 = Count(orders, 429);
  EXPECT_EQ(order429 + Count(orders, 200), kOrders);
  EXPECT_EQ(Injections(s.target.path(), "exch_429"), static_cast<uint64_t>(n429 + order429));
  std::this_thread::sleep_for(1500ms);  // one request-count sample
  const auto took = std::chrono::steady_clock::now() - t0;
  const std::string body = Scrape(TestPort(1));
  const Accounted other = AccountedFor(body, "other"),
                  order = AccountedFor(body, "POST /api/v3/order");
  EXPECT_EQ(other.requests, kN) << body;
  EXPECT_EQ(other.failures, n429) << body;
  EXPECT_EQ(order.requests, kOrders) << body;
  EXPECT_EQ(order.failures, order429) << body;
  EXPECT_LT(AccountedFor(body, "request").requests, 0) << "no op \"request\" (TLS records)\n"
                                                       << body;
  EXPECT_EQ(Scraped(body, "mm_rest_latency_seconds_count", R"(exchange="testnet")"), kN + kOrders)
      << body;
  EXPECT_GT(Scraped(body, "mm_rest_latency_seconds_sum", R"(exchange="testnet")"), 0) << body;
  // The gauge covers the last 10 s: the order requests' share exactly when they took less.
  if (took < 9500ms) {
    EXPECT_NEAR(
        Scraped(body, "mm_partial_fail_rate", R"(exchange="testnet",op="POST /api/v3/order")"),
        order429 / static_cast<double>(kOrders), 1e-9)
        << body;
  }
}

TEST(TlsUprobe, PythonHttpClient5xxAtTheConfiguredRateOnKeepAlive) {
  REQUIRE_TLS_UPROBES();
  Python5xx(false);
}

TEST(TlsUprobe, PythonHttpClient5xxAtTheConfiguredRateOnNewConnections) {
  REQUIRE_TLS_UPROBES();
  Python5xx(true);
}

// Every response of the target is a 429; the same curl and python with the same libssl in a
// sibling cgroup, while the controller runs, get the server's.
TEST(TlsUprobe, SiblingCgroupWithTheSameLibsslIsUntouched) {
  REQUIRE_TLS_UPROBES();
  Scene s;
  auto ctl = s.Start(s.Config({.exch_429 = 1.0}));
  EXPECT_EQ(Count(s.Curl(s.target, 10, false), 429), 10);
  EXPECT_EQ(Count(s.Curl(s.sibling, 50, false), 200), 50) << "a sibling cgroup sees none of it";
  auto v = s.Python(s.sibling, 50, false);
  ASSERT_EQ(v.size(), 50u);
  for (const auto& r : v) EXPECT_EQ(r.status, 200) << "a sibling cgroup sees none of it";
  EXPECT_EQ(Injections(s.target.path(), "exch_429"), 10u);
  // The sibling's processes lived through many loop ticks and were never covered.
  ASSERT_EQ(s.pids.size(), 3u);
  const std::string out = ctl->output();
  EXPECT_NE(out.find("tls: pid " + std::to_string(s.pids[0]) + " ("), std::string::npos) << out;
  for (size_t i : {1, 2})
    EXPECT_EQ(out.find("tls: pid " + std::to_string(s.pids[i]) + " ("), std::string::npos)
        << "a sibling's process covered: " << out;
}

// Status lines split across reads: every byte its own SSL_read_ex (and 5 at a time), the digits
// rewritten where they fall; bodies untouched.
TEST(TlsUprobe, StatusLineSplitAcrossReads) {
  REQUIRE_TLS_UPROBES();
  Scene s;
  auto ctl = s.Start(s.Config({.exch_5xx = 1.0}));
  for (int k : {1, 5}) {
    SCOPED_TRACE("recv " + std::to_string(k));
    auto v = s.Raw(s.target, 20, k);
    ASSERT_EQ(v.size(), 20u);
    for (const auto& r : v) {
      EXPECT_EQ(r.status, 502);
      EXPECT_EQ(r.body_sha, s.body_sha);
    }
  }
  EXPECT_EQ(Injections(s.target.path(), "exch_5xx"), 40u);
}

// Interim answers (100 Continue) reach the engine untouched and the final response after them is
// the one decided and accounted, as on plaintext flows: curl's order POSTs (the 100 its own
// read) and python's (the 100 and the final head in one read), exch_429 at p = 0.3.
TEST(TlsUprobe, InterimAnswersPassAndTheFinalResponseIsDecided) {
  REQUIRE_TLS_UPROBES();
  Scene s;
  auto ctl = s.Start(s.Config({.exch_429 = 0.3}));
  const std::string ca = s.dir.path() + "/pki/ca.pem", trace = s.dir.path() + "/curl.trace";
  const std::string origin = "https://" + s.topo.exchange_ip + ":" + std::to_string(s.port);
  int rc = 0;
  auto curl =
      Statuses(s.InCgroup(s.target, CurlExpectContinue(ca, origin, kN / 2, trace), &rc), false);
  EXPECT_EQ(rc, 0);
  auto python = Statuses(
      s.InCgroup(s.target, PythonExpectContinue(s.topo.exchange_ip, s.port, ca, kN / 2), &rc),
      true);
  EXPECT_EQ(rc, 0);
  std::this_thread::sleep_for(1500ms);  // the controller samples request counts once a second
  ExpectInterimPassedAndFinalDecided(curl, ContinuesSeen(trace), python, kN / 2,
                                     Injections(s.target.path(), "exch_429"), Scrape(TestPort(1)));
}

// HTTP/2 (ALPN h2), which neither mechanism can follow, is reported, not run silently: curl
// --http2 through HAProxy (TLS with h2 and http/1.1 offered) gets the proxy's responses unchanged
// with exch_429 at p = 1, and the controller says its connection speaks HTTP/2; curl --http1.1
// through the same proxy gets every response as 429.
TEST(TlsUprobe, Http2ConnectionsAreReportedAndHttp1OnesRewritten) {
  REQUIRE_TLS_UPROBES();
  Scene s;
  const std::string pki = s.dir.path() + "/pki", pem = s.dir.path() + "/haproxy.pem";
  ASSERT_EQ(Sh("cat " + pki + "/server.pem " + pki + "/server.key > " + pem), 0);
  s.port = TestPort(8);  // the exchange's endpoint is the proxy
  Process haproxy("haproxy -db -f " +
                      s.dir.Write("haproxy.cfg", HaproxyH2Config(s.topo.exchange_ip, s.port, pem)),
                  s.topo.exchange);
  auto ctl = s.Start(s.Config({.exch_429 = 1.0}));
  const std::string origin = "https://" + s.topo.exchange_ip + ":" + std::to_string(s.port);
  int rc = 0;
  auto h2 = Statuses(s.InCgroup(s.target, CurlVersion(pki + "/ca.pem", origin, 5, "--http2"), &rc),
                     false);
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(h2, std::vector<int>(5, 200)) << "HTTP/2's frames pass unchanged";
  EXPECT_TRUE(ctl->WaitFor("tls: 1 TLS connection(s) of the engine speak HTTP/2", 10s))
      << ctl->output();
  auto h1 = Statuses(
      s.InCgroup(s.target, CurlVersion(pki + "/ca.pem", origin, 5, "--http1.1"), &rc), false);
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(h1, std::vector<int>(5, 429));
}

TEST(TlsUprobe, StormBurstTurnsEveryResponseInto429) {
  REQUIRE_TLS_UPROBES();
  Scene s;
  auto ctl = s.Start(s.Config({.storm = 1.0}));
  auto codes = s.Curl(s.target, 50, false);
  EXPECT_EQ(Count(codes, 429), 50);
  auto v = s.Python(s.target, 50, true);
  ASSERT_EQ(v.size(), 50u);
  for (const auto& r : v) EXPECT_EQ(r.status, 429);
  EXPECT_EQ(Injections(s.target.path(), "rate_limit_storm"), 100u);
}

// Shadow mode decides and counts every response and changes no byte.
TEST(TlsUprobe, ShadowCountsEveryResponseAndChangesNoByte) {
  REQUIRE_TLS_UPROBES();
  Scene s;
  auto ctl = s.Start(s.Config({.exch_429 = 1.0, .exch_5xx = 1.0, .dry_run = true}));
  auto codes = s.Curl(s.target, kN / 2, false);
  EXPECT_EQ(Count(codes, 200), kN / 2);
  auto v = s.Python(s.target, kN / 2, true);
  ASSERT_EQ(v.size(), static_cast<size_t>(kN / 2));
  for (const auto& r : v) {
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body_sha, s.body_sha);
  }
  EXPECT_EQ(Injections(s.target.path(), "exch_429", "shadow"), static_cast<uint64_t>(kN));
  EXPECT_EQ(Injections(s.target.path(), "exch_5xx", "shadow"), static_cast<uint64_t>(kN))
      << "as the data plane";
  EXPECT_EQ(Injections(s.target.path(), "exch_429"), 0u);
}

// An engine already running when the controller starts needs no restart: its process is found
// in the cgroup and the probes go into it.
TEST(TlsUprobe, AnEngineAlreadyRunningIsCovered) {
  REQUIRE_TLS_UPROBES();
  Scene s;
  const std::string cfg = s.Config({.exch_429 = 1.0});
  // Started first, requesting every 20 ms for a while on one connection (python's start is slow
  // under TCG: the controller starts once the server has answered a few).
  auto client = std::async(std::launch::async, [&] { return s.Python(s.target, 300, false, 20); });
  std::this_thread::sleep_for(8s);
  auto ctl = s.Start(cfg);
  auto v = client.get();
  ASSERT_EQ(v.size(), 300u);
  const auto first429 =
      std::find_if(v.begin(), v.end(), [](const Response& r) { return r.status == 429; });
  ASSERT_NE(first429, v.end()) << "never rewritten after the controller attached";
  EXPECT_NE(first429, v.begin()) << "the client did not run before the controller";
  for (auto it = first429; it != v.end(); ++it)
    EXPECT_EQ(it->status, 429) << "on the same connection, once attached";
}

class TlsUprobeRollback : public ::testing::TestWithParam<Path> {};

// The engine keeps requesting (every response a 429 while attached); after the trigger every
// response is the server's again: the links go with the controller (or are detached by it).
TEST_P(TlsUprobeRollback, RewritesStop) {
  REQUIRE_TLS_UPROBES();
  Scene s;
  Knobs k{.exch_429 = 1.0};
  const std::string cfg = s.Config(k);
  auto ctl = s.Start(cfg);
  auto client = std::async(std::launch::async, [&] { return s.Python(s.target, 150, false, 10); });
  auto until = std::chrono::steady_clock::now() + 30s;
  while (Injections(s.target.path(), "exch_429") < 30 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(20ms);
  ASSERT_GE(Injections(s.target.path(), "exch_429"), 30u) << "no rewrite before the trigger";
  const uint64_t trigger = MonoNs();
  PullRollback(
      GetParam(), *ctl,
      [&] {
        k.enabled = false;
        s.Config(k);
      },
      true);
  const uint64_t done = MonoNs();
  auto v = client.get();
  ASSERT_EQ(v.size(), 150u);
  ExpectRewritesStopped(v, trigger, done);
  if (GetParam() == Path::kSighupDisabled) ctl->Signal(SIGTERM);
}

INSTANTIATE_TEST_SUITE_P(AllPaths, TlsUprobeRollback,
                         ::testing::Values(Path::kSigterm, Path::kSighupDisabled,
                                           Path::kRollbackCommand, Path::kSigkill),
                         PathName);

bool LockedDown() {
  const std::string l = KernelLockdown();
  return l.find("[integrity]") != std::string::npos ||
         l.find("[confidentiality]") != std::string::npos;
}

// Runs on every kernel. Where the kernel refuses the programs (lockdown: the 6.18 host)
// `validate --probe-kernel`, `run` and `doctor` refuse the uprobe mechanism with the kernel's
// reason (the verifier's line, the lockdown mode) and auto picks the preload; elsewhere (the qemu
// lanes) they choose the uprobes.
TEST(TlsUprobeHost, ValidateRunAndDoctorSayWhichMechanismAndWhy) {
  Cgroup target("target");
  TempDir dir;
  auto yaml = [&](const std::string& mechanism) { return TlsRewriteYaml(dir, target, mechanism); };
  int rc = 0;
  std::string up =
      Capture(MmchaosBin() + " validate --probe-kernel -c " + yaml("uprobe") + " 2>&1", &rc);
  const int up_rc = rc;
  std::string au =
      Capture(MmchaosBin() + " validate --probe-kernel -c " + yaml("auto") + " 2>&1", &rc);
  const int au_rc = rc;
  std::string doc = Capture(MmchaosBin() + " doctor --json", &rc);
  ASSERT_EQ(rc, 0) << doc;
  auto j = nlohmann::json::parse(doc);
  nlohmann::json probe;
  for (const auto& p : j["probes"])
    if (p["name"] == "tls_uprobe") probe = p;
  ASSERT_FALSE(probe.is_null()) << doc;
  Result<void> loads = ProbeTlsUprobe();
  const std::string refused = loads ? "" : loads.error().message();
  if (!loads) {
    // This host's reason: the verifier's line about the helper, and the lockdown mode.
    EXPECT_NE(refused.find("bpf_probe_write_user"), std::string::npos) << refused;
    if (LockedDown()) {
      EXPECT_NE(refused.find("kernel lockdown"), std::string::npos) << refused;
    }
    EXPECT_EQ(up_rc, 2) << up;
    EXPECT_NE(up.find("faults.tls_mechanism is uprobe, and this kernel cannot run it"),
              std::string::npos)
        << up;
    EXPECT_NE(up.find(refused), std::string::npos) << up;
    EXPECT_EQ(au_rc, 0) << au;
    EXPECT_NE(au.find("https:// endpoints: preload (no uprobes here"), std::string::npos) << au;
    EXPECT_FALSE(probe["ok"].get<bool>()) << doc;
    EXPECT_EQ(probe["detail"].get<std::string>(), refused) << doc;
    // `run` refuses it too, before touching the kernel.
    std::string run = Capture(MmchaosBin() + " run -c " + yaml("uprobe") + " 2>&1", &rc);
    EXPECT_EQ(rc, 2) << run;
    EXPECT_NE(run.find("faults.tls_mechanism is uprobe, and this kernel cannot run it"),
              std::string::npos)
        << run;
  } else {
    EXPECT_FALSE(LockedDown()) << "a locked-down kernel loaded bpf_probe_write_user";
    EXPECT_EQ(up_rc, 0) << up;
    EXPECT_NE(up.find("https:// endpoints: uprobes (faults.tls_mechanism is uprobe and this "
                      "kernel allows bpf_probe_write_user)"),
              std::string::npos)
        << up;
    EXPECT_EQ(au_rc, 0) << au;
    EXPECT_NE(au.find("https:// endpoints: uprobes (faults.tls_mechanism is auto"),
              std::string::npos)
        << au;
    EXPECT_TRUE(probe["ok"].get<bool>()) << doc;
  }
}

}  // namespace
}  // namespace mmchaos::testing
