// deploy/prometheus rules and the deploy/grafana dashboard use the exporter's metric names: a
// rename in userspace/metrics breaks this test before any dashboard goes blank. (The kernel test
// Prometheus.* evaluates the same expressions against a real Prometheus scraping a controller.)
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "experiment/http_get.h"
#include "metrics/exporter.h"

namespace mmchaos {
namespace {

const std::string kDeploy = std::string(MMCHAOS_SOURCE_DIR) + "/deploy";

// A snapshot with every optional part present, so every family is exported.
DataPlaneSnapshot FullSnapshot() {
  DataPlaneSnapshot s;
  s.counters = Counters{};
  s.attached = true;
  s.netem = std::array<DataPlaneSnapshot::Netem, 2>{};
  s.partial_fail = {{"mock", "other", 0.1}};
  s.rest_latency = RestLatency{};
  s.exchanges = {"mock"};
  s.rollbacks = {{"deadline-miss", 0}};
  s.memory_psi = MemoryPsi{};
  return s;
}

// Metric family names (from `# TYPE name type`) and the histograms among them.
struct Families {
  std::set<std::string> names, histograms;
};

Families Exported() {
  auto exporter = MetricsExporter::Start("127.0.0.1:0", FullSnapshot);
  EXPECT_TRUE(exporter.has_value());
  if (!exporter) return {};
  auto body =
      HttpGet("http://127.0.0.1:" + std::to_string((*exporter)->port()) + "/metrics", "", 5000);
  EXPECT_TRUE(body.has_value());
  Families f;
  std::istringstream in(body ? *body : "");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream w(line);
    std::string hash, kw, name, type;
    if (!(w >> hash >> kw >> name >> type) || hash != "#" || kw != "TYPE") continue;
    f.names.insert(name);
    if (type == "histogram") f.histograms.insert(name);
  }
  return f;
}

std::vector<std::string> RuleExprs() {
  std::vector<std::string> out;
  YAML::Node doc = YAML::LoadFile(kDeploy + "/prometheus/mmchaos.rules.yml");
  for (const auto& g : doc["groups"])
    for (const auto& r : g["rules"]) out.push_back(r["expr"].as<std::string>());
  return out;
}

nlohmann::json Dashboard() {
  std::ifstream in(kDeploy + "/grafana/mmchaos-dashboard.json");
  return nlohmann::json::parse(in);
}

std::vector<std::string> DashboardExprs(const nlohmann::json& d) {
  std::vector<std::string> out;
  for (const auto& p : d["panels"])
    for (const auto& t : p.value("targets", nlohmann::json::array())) out.push_back(t["expr"]);
  return out;
}

// Exporter metric names an expression reads (not recording-rule names, which contain ':').
std::set<std::string> MetricsIn(const std::string& expr, const Families& f) {
  static const std::regex kName(R"((^|[^A-Za-z0-9_:])(mm_[a-z0-9_]+)(?![A-Za-z0-9_:]))");
  std::set<std::string> out;
  for (std::sregex_iterator it(expr.begin(), expr.end(), kName), end; it != end; ++it) {
    std::string n = (*it)[2];
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      const std::string s(suffix);
      if (n.size() > s.size() && n.ends_with(s) &&
          f.histograms.contains(n.substr(0, n.size() - s.size())))
        n = n.substr(0, n.size() - s.size());
    }
    out.insert(n);
  }
  return out;
}

TEST(Deploy, RulesAndDashboardReadOnlyExportedMetricsAndCoverEveryOne) {
  const Families f = Exported();
  ASSERT_GE(f.names.size(), 15u);
  std::vector<std::string> exprs = RuleExprs();
  ASSERT_GE(exprs.size(), 20u);
  const auto dash = DashboardExprs(Dashboard());
  ASSERT_GE(dash.size(), 15u);
  exprs.insert(exprs.end(), dash.begin(), dash.end());
  std::set<std::string> used;
  for (const auto& e : exprs)
    for (const auto& n : MetricsIn(e, f)) {
      EXPECT_TRUE(f.names.contains(n)) << n << " is not exported; used in: " << e;
      used.insert(n);
    }
  for (const auto& n : f.names) {
    if (n.starts_with("mm_")) {
      EXPECT_TRUE(used.contains(n)) << n << ": no rule or panel reads it";
    }
  }
}

TEST(Deploy, DashboardHasAHostVariableEveryQueryUses) {
  const auto d = Dashboard();
  bool host = false;
  for (const auto& v : d["templating"]["list"])
    if (v["name"] == "host") {
      host = true;
      EXPECT_EQ(v["query"]["query"], "label_values(mm_chaos_attached, instance)");
      EXPECT_TRUE(v["includeAll"].get<bool>());
    }
  EXPECT_TRUE(host);
  for (const auto& e : DashboardExprs(d)) {
    // Every selector of an exporter metric is narrowed to the chosen hosts.
    static const std::regex kSelector(R"(mm_[a-z0-9_]+(\{[^}]*\})?)");
    for (std::sregex_iterator it(e.begin(), e.end(), kSelector), end; it != end; ++it) {
      EXPECT_NE((*it).str().find(R"(instance=~"$host")"), std::string::npos)
          << (*it).str() << " in " << e;
    }
  }
}

}  // namespace
}  // namespace mmchaos
