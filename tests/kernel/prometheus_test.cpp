// deploy/prometheus and deploy/grafana against a real Prometheus (Debian's, on loopback, with a
// scratch storage directory) scraping a running controller in shadow mode against the reference
// engine: every rule and every dashboard query parses and evaluates through the HTTP API, and
// those about the running scenarios return this controller's series. Metric names and labels are
// the exporter's, so a rename breaks this test.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <fstream>
#include <regex>
#include <thread>

#include "reference_scene.h"

namespace mmchaos::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

const std::string kDeploy = std::string(MMCHAOS_SOURCE_DIR) + "/deploy";

// Debian's prometheus in the root namespace, listening on loopback only; stopped on destruction.
class PrometheusServer {
 public:
  PrometheusServer(const TempDir& dir, uint16_t port, uint16_t scrape_port) : port_(port) {
    std::ostringstream y;
    y << "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
      << "rule_files: [\"" << kDeploy << "/prometheus/mmchaos.rules.yml\"]\n"
      << "scrape_configs:\n  - job_name: mmchaos\n    static_configs:\n"
      << "      - targets: [\"127.0.0.1:" << scrape_port << "\"]\n";
    std::vector<std::string> args{
        "/usr/bin/prometheus", "--config.file=" + dir.Write("prometheus.yml", y.str()),
        "--storage.tsdb.path=" + dir.path() + "/tsdb",
        "--web.listen-address=127.0.0.1:" + std::to_string(port), "--log.level=warn"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    log_ = dir.path() + "/prometheus.log";
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, log_.c_str(), O_WRONLY | O_CREAT, 0644);
    posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
    int rc = posix_spawn(&pid_, argv[0], &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) pid_ = -1;
  }
  ~PrometheusServer() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
  }
  bool running() const { return pid_ > 0; }
  std::string Log() const { return Capture("cat " + log_); }

  // GET path?query on the API; the parsed body (null when Prometheus did not answer 200).
  json Get(const std::string& path_and_query) const {
    auto body = HttpGet("http://127.0.0.1:" + std::to_string(port_) + path_and_query, "", 10000);
    if (!body) return nullptr;
    return json::parse(*body, nullptr, false);
  }
  json Query(const std::string& expr) const { return Get("/api/v1/query?query=" + Escape(expr)); }

 private:
  static std::string Escape(const std::string& s) {
    std::string out;
    for (unsigned char c : s) {
      if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
        out += static_cast<char>(c);
      } else {
        char b[4];
        std::snprintf(b, sizeof b, "%%%02X", c);
        out += b;
      }
    }
    return out;
  }
  pid_t pid_ = -1;
  uint16_t port_;
  std::string log_;
};

struct Rule {
  std::string name, expr;
  bool alert;
};

std::vector<Rule> Rules() {
  std::vector<Rule> out;
  YAML::Node doc = YAML::LoadFile(kDeploy + "/prometheus/mmchaos.rules.yml");
  for (const auto& g : doc["groups"])
    for (const auto& r : g["rules"]) {
      bool alert = static_cast<bool>(r["alert"]);
      out.push_back({(alert ? r["alert"] : r["record"]).as<std::string>(),
                     r["expr"].as<std::string>(), alert});
    }
  return out;
}

std::vector<std::pair<std::string, std::string>> DashboardQueries() {
  std::ifstream in(kDeploy + "/grafana/mmchaos-dashboard.json");
  json d = json::parse(in);
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& p : d["panels"])
    for (const auto& t : p.value("targets", json::array()))
      out.emplace_back(p["title"].get<std::string>(), t["expr"].get<std::string>());
  return out;
}

// A delay scenario's metrics exist only while the netem path does: not part of this run.
bool AboutNetem(const std::string& expr) {
  return expr.find("mm_chaos_netem_") != std::string::npos;
}

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
  return s;
}

// The query's result vector; a failure names the query and Prometheus' error.
json Vector(const PrometheusServer& prom, const std::string& expr) {
  json r = prom.Query(expr);
  EXPECT_TRUE(r.is_object() && r.value("status", "") == "success")
      << "query failed: " << expr << "\n"
      << (r.is_null() ? "(no 200 answer)" : r.dump());
  if (!r.is_object() || !r.contains("data")) return json::array();
  EXPECT_EQ(r["data"]["resultType"], "vector") << expr;
  return r["data"]["result"];
}

TEST(Prometheus, EveryRuleAndPanelEvaluatesAgainstARunningController) {
  ReferenceScene s;
  const uint16_t metrics_port = TestPort(1), prom_port = TestPort(2);
  auto config = [&](const std::string& trigger) {
    std::ostringstream y;
    y << "chaos:\n  enabled: true\n  dry_run: true\n  net_loss: 0.2\n  exch_429: 0.3\n"
      << "  ws_disconnect: 0.5\n  burst_on_sec: 2\n  burst_off_sec: 1\n"
      << s.TargetYaml() << "  tick_ms: 100\n"
      << "metrics:\n  listen: \"127.0.0.1:" << metrics_port << "\"\n"
      << "log:\n  injections: " << s.dir.path() << "/inj.jsonl\n"
      << "rollback_triggers:\n  - {name: stop, metric: requests, " << trigger
      << ", window_ticks: 2}\n";
    return s.dir.Write("chaos.yaml", y.str());
  };
  Controller ctl(config(R"(op: ">", value: 1000000000)"));
  ASSERT_TRUE(ctl.WaitFor("tc hook up", 30s)) << ctl.output();
  Process engine(s.EngineCmd("--tick-ms 50 --backoff-max-ms 300"), s.topo.engine, &s.target);

  TempDir pdir;
  PrometheusServer prom(pdir, prom_port, metrics_port);
  ASSERT_TRUE(prom.running());
  const std::string instance = "127.0.0.1:" + std::to_string(metrics_port);
  // Ready once a scrape has succeeded and every rule has been evaluated at least once.
  json rules_api;
  auto evaluated = [&] {
    rules_api = prom.Get("/api/v1/rules");
    if (!rules_api.is_object() || rules_api.value("status", "") != "success") return false;
    for (const auto& g : rules_api["data"]["groups"])
      for (const auto& r : g["rules"])
        if (r.value("lastEvaluation", "").starts_with("0001-")) return false;
    return !rules_api["data"]["groups"].empty();
  };
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (!evaluated() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(500ms);
  ASSERT_TRUE(evaluated()) << prom.Log();
  // Enough scrapes for rates over the dashboard's 10 s window, and a few bursts.
  std::this_thread::sleep_for(12s);

  // Prometheus loaded every rule of the file and evaluates each without an error.
  const auto rules = Rules();
  size_t loaded = 0;
  ASSERT_TRUE(evaluated());
  for (const auto& g : rules_api["data"]["groups"])
    for (const auto& r : g["rules"]) {
      ++loaded;
      EXPECT_EQ(r["health"], "ok") << r["name"] << ": " << r.value("lastError", "");
    }
  EXPECT_EQ(loaded, rules.size());

  // Recording rules return data (netem's only with a delay scenario); no alert fires in a
  // healthy shadow run.
  for (const auto& r : rules) {
    json v = Vector(prom, r.expr);
    if (r.alert) {
      EXPECT_TRUE(v.empty()) << r.name << " fires in a healthy shadow run: " << v.dump();
    } else if (!AboutNetem(r.expr)) {
      EXPECT_FALSE(v.empty()) << r.name << " returns nothing: " << r.expr;
    }
  }

  // The dashboard's host variable lists this controller; every panel query, with the variable
  // set to it, returns its series (netem's only with a delay scenario).
  json hosts = prom.Get("/api/v1/label/instance/values?match%5B%5D=mm_chaos_attached");
  ASSERT_TRUE(hosts.is_object()) << hosts;
  EXPECT_EQ(hosts["data"], json::array({instance}));
  const auto panels = DashboardQueries();
  ASSERT_GE(panels.size(), 15u);
  for (const auto& [title, raw] : panels) {
    std::string expr =
        Replace(Replace(raw, "$host", std::regex_replace(instance, std::regex(R"(\.)"), R"(\\.)")),
                "$__rate_interval", "10s");
    json v = Vector(prom, expr);
    if (AboutNetem(expr)) continue;
    EXPECT_FALSE(v.empty()) << title << ": " << expr;
    for (const auto& series : v) {
      if (series["metric"].contains("instance")) {
        EXPECT_EQ(series["metric"]["instance"], instance) << title;
      }
    }
  }
  // What the running scenarios promise, as the dashboard shows it: shadow decisions of each
  // configured scenario, the engine's REST latency, bursts.
  for (const char* scn : {"net_loss", "exch_429"}) {
    json v = Vector(prom, "sum(increase(mm_chaos_injections_total{mode=\"shadow\",scenario=\"" +
                              std::string(scn) + "\"}[1m]))");
    ASSERT_EQ(v.size(), 1u) << scn;
    EXPECT_GT(std::stod(v[0]["value"][1].get<std::string>()), 0) << scn;
  }
  json live = Vector(prom, "sum(mm_chaos_injections_total{mode=\"live\"})");
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live[0]["value"][1], "0") << "shadow mode injected";
  json p95 = Vector(prom, "instance_exchange:mm_rest_latency_seconds:p95_1m");
  ASSERT_EQ(p95.size(), 1u);
  EXPECT_EQ(p95[0]["metric"]["exchange"], "mock");
  EXPECT_GT(std::stod(p95[0]["value"][1].get<std::string>()), 0);
  json bursts = Vector(prom, "max_over_time(mm_chaos_burst_index[30s])");
  ASSERT_EQ(bursts.size(), 1u);
  EXPECT_GE(std::stod(bursts[0]["value"][1].get<std::string>()), 2);

  // A rollback trigger that holds: the controller detaches, and the alert an on-call gets
  // names the trigger.
  config(R"(op: ">=", value: 0)");
  ctl.Signal(SIGHUP);
  ASSERT_TRUE(ctl.WaitFor("rollback trigger fired: stop", 10s)) << ctl.output();
  std::this_thread::sleep_for(3s);
  std::string alert_expr;
  for (const auto& r : rules)
    if (r.name == "MmChaosRollbackTriggered") alert_expr = r.expr;
  json fired = Vector(prom, alert_expr);
  ASSERT_EQ(fired.size(), 1u) << fired.dump();
  EXPECT_EQ(fired[0]["metric"]["trigger"], "stop");
  EXPECT_EQ(fired[0]["metric"]["instance"], instance);
  json attached = Vector(prom, "mm_chaos_attached");
  ASSERT_EQ(attached.size(), 1u);
  EXPECT_EQ(attached[0]["value"][1], "0");
}

}  // namespace
}  // namespace mmchaos::testing
