// `mmchaos report` and `mmchaos findings`: run-file parsing and its errors, report.md /
// findings.json / chart goldens (tests/unit/report/testdata), and the commands end to end.
// Regenerate the goldens after an intended change with MMCHAOS_UPDATE_GOLDEN=1 and review the
// diff.
#include "report/report.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace mmchaos {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const fs::path kTestdata = fs::path(MMCHAOS_SOURCE_DIR) / "tests/unit/report/testdata";
const fs::path kRuns = kTestdata / "runs";
const fs::path kGolden = kTestdata / "golden";
constexpr int64_t kGeneratedAt = 1795800000;  // 2026-11-27 17:20:00 UTC

std::string Read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  EXPECT_TRUE(in) << p;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void Write(const fs::path& p, const std::string& s) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << s;
}

// Compares with the golden file (or rewrites it under MMCHAOS_UPDATE_GOLDEN=1).
void ExpectGolden(const std::string& actual, const std::string& name) {
  fs::path p = kGolden / name;
  if (std::getenv("MMCHAOS_UPDATE_GOLDEN")) {
    fs::create_directories(kGolden);
    Write(p, actual);
    return;
  }
  std::string want = Read(p);
  EXPECT_EQ(actual, want) << "differs from " << p << " (MMCHAOS_UPDATE_GOLDEN=1 rewrites it)";
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "mmchaos-report-XXXXXX").string();
    EXPECT_NE(mkdtemp(tmpl.data()), nullptr);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::vector<ExperimentRun> GoldenRuns() {
  Result<std::vector<ExperimentRun>> runs = LoadRuns(kRuns.string());
  EXPECT_TRUE(runs) << (runs ? "" : runs.error().message());
  return runs ? *runs : std::vector<ExperimentRun>{};
}

std::string ErrorOf(const std::string& text) {
  Result<ExperimentRun> r = ParseRun(json::parse(text));
  EXPECT_FALSE(r) << text;
  return r ? "" : r.error().message();
}

constexpr const char* kMinimal =
    R"({"scenario": "net_loss", "ticks": [{"tick": 0, "phase": "baseline", "latency_ms": [1.5],
        "deadline_misses": 0, "requests": 1}], "bursts": []})";

// --- Run files ---------------------------------------------------------------------------

TEST(ReportRun, MinimalRunGetsTheSeedDefaults) {
  Result<ExperimentRun> r = ParseRun(json::parse(kMinimal));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->scenario, "net_loss");
  EXPECT_EQ(r->acceptance.p95_regression_max, 0.15);
  EXPECT_EQ(r->acceptance.deadline_miss_max, 0.02);
  EXPECT_EQ(r->acceptance.recovery_ticks_max, 3);
  EXPECT_EQ(r->acceptance.p99_max_ms_under_lat_spike, 250);
  EXPECT_TRUE(r->acceptance.discrepancies_all_detected);
  EXPECT_FALSE(r->dry_run);
  ASSERT_EQ(r->ticks.size(), 1u);
  EXPECT_EQ(r->ticks[0].latency_ms, std::vector<double>{1.5});
  EXPECT_EQ(r->injections_live, 0);
}

TEST(ReportRun, FullSchemaAndUnknownKeysIgnored) {
  Result<ExperimentRun> r = ParseRun(json::parse(R"({
    "scenario": "exch_429", "intensity": 0.2, "started_unix": 1795760000, "tick_ms": 100,
    "dry_run": true, "config": {"anything": [1, 2]},
    "acceptance": {"deadline_miss_max": 0.05, "recovery_ticks_max": 4},
    "ticks": [{"tick": 3, "phase": "chaos", "burst_on": true, "latency_ms": [12.1, 15],
               "deadline_misses": 1, "requests": 2, "extra": 1}],
    "bursts": [{"index": 7, "start_tick": 3, "end_tick": 3}],
    "injections": {"live": 123, "shadow": 456}, "reconnects": {"rest": 1, "ws": 2},
    "ws_gaps": {"count": 900, "p99_ms": 55.0}, "discrepancies": {"created": 3, "detected": 2},
    "rollbacks": [{"tick": 3, "trigger": "deadline_miss > 5% for 3 ticks"}]})"));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->intensity, 0.2);
  EXPECT_EQ(r->started_unix, 1795760000);
  EXPECT_EQ(r->tick_ms, 100);
  EXPECT_TRUE(r->dry_run);
  EXPECT_EQ(r->acceptance.deadline_miss_max, 0.05);
  EXPECT_EQ(r->acceptance.recovery_ticks_max, 4);
  EXPECT_EQ(r->acceptance.p95_regression_max, 0.15);
  EXPECT_EQ(r->ticks[0].phase, Phase::kChaos);
  EXPECT_TRUE(r->ticks[0].burst_on);
  EXPECT_EQ(r->ticks[0].deadline_misses, 1);
  EXPECT_EQ(r->bursts[0].index, 7);
  EXPECT_EQ(r->injections_live, 123);
  EXPECT_EQ(r->injections_shadow, 456);
  EXPECT_EQ(r->reconnects_rest, 1);
  EXPECT_EQ(r->reconnects_ws, 2);
  EXPECT_EQ(r->ws_gaps_count, 900);
  EXPECT_EQ(r->ws_gaps_p99_ms, 55.0);
  EXPECT_EQ(r->discrepancies_created, 3);
  EXPECT_EQ(r->discrepancies_detected, 2);
  ASSERT_EQ(r->rollbacks.size(), 1u);
  EXPECT_EQ(r->rollbacks[0].trigger, "deadline_miss > 5% for 3 ticks");
}

TEST(ReportRun, EndpointsRoundTripAndTheReportSaysTls) {
  json j = json::parse(kMinimal);
  Result<ExperimentRun> plain = ParseRun(j);
  ASSERT_TRUE(plain) << plain.error().message();
  EXPECT_TRUE(plain->endpoints.empty());
  EXPECT_FALSE(RunJson(*plain).contains("endpoints")) << "older run files stay as they were";
  EXPECT_EQ(RenderReport({*plain}, "x-", 0).find("Exchange endpoints"), std::string::npos);

  j["endpoints"] = {"https://10.0.0.2:8080", "wss://10.0.0.2:8081/ws"};
  Result<ExperimentRun> tls = ParseRun(j);
  ASSERT_TRUE(tls) << tls.error().message();
  EXPECT_EQ(tls->endpoints,
            (std::vector<std::string>{"https://10.0.0.2:8080", "wss://10.0.0.2:8081/ws"}));
  EXPECT_EQ(RunJson(*tls)["endpoints"], j["endpoints"]);
  std::string md = RenderReport({*tls}, "x-", 0);
  EXPECT_NE(md.find("Exchange endpoints: `https://10.0.0.2:8080` `wss://10.0.0.2:8081/ws` (TLS"),
            std::string::npos)
      << md;
  tls->endpoints = {"http://10.0.0.2:8080"};
  EXPECT_NE(RenderReport({*tls}, "x-", 0).find("(plaintext)"), std::string::npos);
  j["endpoints"] = {7};
  EXPECT_NE(ErrorOf(j.dump()).find("endpoints[0]"), std::string::npos);
}

TEST(ReportRun, ErrorsNameTheKeyAndTheProblem) {
  const std::string tick =
      R"("phase": "baseline", "latency_ms": [1], "deadline_misses": 0, "requests": 1)";
  struct Case {
    std::string text, error;
  };
  std::vector<Case> cases = {
      {R"([1, 2])", "expected a JSON object at the top, got array"},
      {R"({"ticks": [], "bursts": []})", "scenario: missing"},
      {R"({"scenario": 5, "ticks": [], "bursts": []})", "scenario: expected a string, got number"},
      {R"({"scenario": "../x", "ticks": [], "bursts": []})",
       "scenario: expected [a-z0-9_]+, got \"../x\""},
      {R"({"scenario": "a", "bursts": []})", "ticks: missing"},
      {R"({"scenario": "a", "ticks": {}, "bursts": []})", "ticks: expected an array, got object"},
      {R"({"scenario": "a", "ticks": []})", "bursts: missing"},
      {R"({"scenario": "a", "ticks": [{"tick": 0, )" + tick + R"(}, {"tick": 1, "phase":
          "chaos", "latency_ms": [1, "2"], "deadline_misses": 0, "requests": 2}], "bursts": []})",
       "ticks[1].latency_ms[1]: expected a number, got string"},
      {R"({"scenario": "a", "ticks": [{"tick": 0, "phase": "chaos", "latency_ms": [-1],
          "deadline_misses": 0, "requests": 1}], "bursts": []})",
       "ticks[0].latency_ms[0]: must be >= 0, got -1"},
      {R"({"scenario": "a", "ticks": [{"tick": 0, "phase": "warmup", "latency_ms": [],
          "deadline_misses": 0, "requests": 0}], "bursts": []})",
       "ticks[0].phase: expected baseline, chaos or recovery, got \"warmup\""},
      {R"({"scenario": "a", "ticks": [{"tick": 0, "phase": "chaos", "latency_ms": [],
          "deadline_misses": 3, "requests": 2}], "bursts": []})",
       "ticks[0]: deadline_misses (3) > requests (2)"},
      {R"({"scenario": "a", "ticks": [{"tick": 0, "phase": "chaos", "latency_ms": [],
          "requests": 2}], "bursts": []})",
       "ticks[0].deadline_misses: missing"},
      {R"({"scenario": "a", "ticks": [{"tick": 0, "phase": "chaos", "latency_ms": [],
          "deadline_misses": 1.5, "requests": 2}], "bursts": []})",
       "ticks[0].deadline_misses: expected a non-negative integer, got 1.5"},
      {R"({"scenario": "a", "ticks": [{"tick": 2, )" + tick + R"(}, {"tick": 2, )" + tick +
           R"(}], "bursts": []})",
       "ticks[1].tick: ticks must be strictly increasing (2 after 2)"},
      {R"({"scenario": "a", "ticks": [], "bursts": [{"start_tick": 5, "end_tick": 4}]})",
       "bursts[0]: end_tick (4) < start_tick (5)"},
      {R"({"scenario": "a", "ticks": [], "bursts": [{"start_tick": 1, "end_tick": 4},
          {"start_tick": 4, "end_tick": 6}]})",
       "bursts[1]: bursts must be in order and not overlap"},
      {R"({"scenario": "a", "ticks": [], "bursts": [], "acceptance": {"p95_regression_max":
          "15%"}})",
       "acceptance.p95_regression_max: expected a number, got string"},
      {R"({"scenario": "a", "ticks": [], "bursts": [], "acceptance": {"deadline_miss_max": 2}})",
       "acceptance.deadline_miss_max: is a share (0..1), got 2"},
      {R"({"scenario": "a", "ticks": [], "bursts": [], "injections": {"live": -1}})",
       "injections.live: must be >= 0, got -1"},
      {R"({"scenario": "a", "ticks": [], "bursts": [], "rollbacks": [{"trigger": "x"}]})",
       "rollbacks[0].tick: missing"},
      {R"({"scenario": "a", "ticks": [], "bursts": [], "dry_run": "no"})",
       "dry_run: expected a boolean, got string"},
  };
  for (const Case& c : cases) {
    std::string err = ErrorOf(c.text);
    EXPECT_NE(err.find(c.error), std::string::npos) << "got: " << err << "\nwant: " << c.error;
  }
}

TEST(ReportRun, LoadRunNamesTheFile) {
  TempDir tmp;
  fs::path bad = tmp.path() / "1-net_loss.json";
  Write(bad, "{\"scenario\": \"net_loss\", \"ticks\": [");
  Result<ExperimentRun> r = LoadRun(bad.string());
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().message().starts_with(bad.string() + ": malformed JSON"))
      << r.error().message();

  Write(bad, R"({"scenario": "net_loss", "ticks": "none", "bursts": []})");
  r = LoadRun(bad.string());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), bad.string() + ": ticks: expected an array, got string");

  r = LoadRun((tmp.path() / "missing.json").string());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("missing.json: cannot open: No such file or directory"),
            std::string::npos)
      << r.error().message();

  Write(bad, kMinimal);
  r = LoadRun(bad.string());
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->source, "1-net_loss.json");
}

TEST(ReportRun, LoadRunsSortsSkipsOtherFilesAndFailsOnABadOne) {
  TempDir tmp;
  Result<std::vector<ExperimentRun>> runs = LoadRuns(tmp.path().string());
  ASSERT_FALSE(runs);
  EXPECT_NE(runs.error().message().find("no run files (*.json)"), std::string::npos);

  auto run = [](const std::string& scenario, int started) {
    json j = json::parse(kMinimal);
    j["scenario"] = scenario;
    j["started_unix"] = started;
    return j.dump();
  };
  Write(tmp.path() / "3.json", run("net_loss", 30));
  Write(tmp.path() / "1.json", run("net_loss", 50));
  Write(tmp.path() / "2.json", run("exch_429", 90));
  Write(tmp.path() / "notes.txt", "not a run");
  Write(tmp.path() / ".partial.json", "{");
  fs::create_directory(tmp.path() / "sub.json");
  runs = LoadRuns(tmp.path().string());
  ASSERT_TRUE(runs) << runs.error().message();
  ASSERT_EQ(runs->size(), 3u);
  EXPECT_EQ((*runs)[0].source, "2.json");  // exch_429
  EXPECT_EQ((*runs)[1].source, "3.json");  // net_loss, started 30
  EXPECT_EQ((*runs)[2].source, "1.json");  // net_loss, started 50
  EXPECT_EQ(RunLabels(*runs), (std::vector<std::string>{"exch_429", "net_loss-1", "net_loss-2"}));

  Write(tmp.path() / "4.json", R"({"scenario": "net_loss"})");
  runs = LoadRuns(tmp.path().string());
  ASSERT_FALSE(runs);
  EXPECT_EQ(runs.error().message(), (tmp.path() / "4.json").string() + ": ticks: missing");

  runs = LoadRuns((tmp.path() / "nope").string());
  ASSERT_FALSE(runs);
  EXPECT_NE(runs.error().message().find("nope: No such file or directory"), std::string::npos)
      << runs.error().message();
}

// --- Goldens -----------------------------------------------------------------------------

TEST(ReportGolden, ReportMd) {
  std::vector<ExperimentRun> runs = GoldenRuns();
  ASSERT_EQ(runs.size(), 5u);
  ExpectGolden(RenderReport(runs, "report-", kGeneratedAt), "report.md");
}

TEST(ReportGolden, ChartSvg) {
  for (const ExperimentRun& r : GoldenRuns())
    if (r.scenario == "lat_spike" || r.scenario == "ws_disconnect")
      ExpectGolden(RenderChartSvg(r), "report-" + r.scenario + ".svg");
}

TEST(FindingsGolden, FindingsJson) {
  Result<nlohmann::ordered_json> j = ParseFindings(Read(kGolden / "report.md"), "report.md");
  ASSERT_TRUE(j) << j.error().message();
  ExpectGolden(j->dump(2) + "\n", "findings.json");
}

// The golden report says what the runs mean; these pin the key facts independently of the
// golden files, so a wrong golden cannot slip through a regeneration unnoticed.
TEST(ReportGolden, VerdictsOfTheSampleRuns) {
  std::vector<ExperimentRun> runs = GoldenRuns();
  std::vector<Evaluation> evals;
  for (const ExperimentRun& r : runs) evals.push_back(Evaluate(r));
  std::vector<std::string> order;
  for (const ExperimentRun& r : runs) order.push_back(r.scenario);
  ASSERT_EQ(order, (std::vector<std::string>{"exch_429", "lat_spike", "net_loss",
                                             "reconcile_mismatch", "ws_disconnect"}));
  EXPECT_FALSE(evals[0].pass);        // exch_429: 3% deadline misses
  EXPECT_FALSE(evals[1].pass);        // lat_spike: everything
  EXPECT_TRUE(evals[2].pass);         // net_loss
  EXPECT_FALSE(evals[3].pass);        // reconcile_mismatch: 2 of 3 detected
  EXPECT_TRUE(evals[4].pass);         // ws_disconnect: its criteria pass, but
  EXPECT_TRUE(evals[4].shadow_only);  // it made no live injection (dry_run)
  std::vector<std::string> verdicts;
  for (const Evaluation& e : evals) verdicts.emplace_back(RunVerdictName(VerdictOf(e)));
  EXPECT_EQ(verdicts, (std::vector<std::string>{"FAIL", "FAIL", "PASS", "FAIL", "SHADOW"}));
  std::vector<std::string> got;
  for (const Finding& f : CollectFindings(runs, evals))
    got.push_back(f.scenario + " " + f.criterion + " " + f.severity);
  EXPECT_EQ(got, (std::vector<std::string>{
                     "exch_429 deadline_miss medium",
                     "lat_spike p95_regression high",
                     "lat_spike deadline_miss high",
                     "lat_spike recovery high",
                     "lat_spike p99_lat_spike medium",
                     "lat_spike rollback low",
                     "reconcile_mismatch discrepancies medium",
                     "ws_disconnect shadow_only low",
                 }));
  EXPECT_EQ(evals[2].recovery_per_burst, (std::vector<std::optional<int64_t>>{1, 1}));
  EXPECT_EQ(evals[3].recovery_per_burst, (std::vector<std::optional<int64_t>>{4}));
  EXPECT_EQ(evals[1].recovery_per_burst, (std::vector<std::optional<int64_t>>{0, std::nullopt}));
}

// --- report.md <-> findings --------------------------------------------------------------

TEST(FindingsParse, RoundTripsWhatTheReportSays) {
  std::vector<ExperimentRun> runs = GoldenRuns();
  std::vector<Evaluation> evals;
  for (const ExperimentRun& r : runs) evals.push_back(Evaluate(r));
  Result<ParsedReport> p = ParseReport(RenderReport(runs, "x-", 0));
  ASSERT_TRUE(p) << p.error().message();
  EXPECT_FALSE(p->pass);
  EXPECT_EQ(p->findings, CollectFindings(runs, evals));

  // A passing report without findings.
  std::vector<ExperimentRun> good{runs[2]};
  p = ParseReport(RenderReport(good, "x-", 0));
  ASSERT_TRUE(p) << p.error().message();
  EXPECT_TRUE(p->pass);
  EXPECT_TRUE(p->findings.empty());
  Result<nlohmann::ordered_json> j = ParseFindings(RenderReport(good, "x-", 0), "r.md");
  ASSERT_TRUE(j);
  EXPECT_EQ(j->dump(), R"({"generated_from":"r.md","overall":"PASS","findings":[]})");
}

TEST(FindingsParse, NotRecoveredHasNoObservedValue) {
  Result<nlohmann::ordered_json> j = ParseFindings(Read(kGolden / "report.md"), "report.md");
  ASSERT_TRUE(j) << j.error().message();
  bool seen = false;
  for (const auto& f : (*j)["findings"]) {
    if (f["criterion"] != "recovery") continue;
    seen = true;
    EXPECT_EQ(f["observed"], "not recovered");
    EXPECT_TRUE(f["observed_value"].is_null());
    EXPECT_EQ(f["threshold_value"], 3.0);
    EXPECT_EQ(f["severity"], "high");
  }
  EXPECT_TRUE(seen);
}

TEST(FindingsParse, ErrorsNameTheLine) {
  std::string md = Read(kGolden / "report.md");
  auto replace = [&](const std::string& from, const std::string& to) {
    std::string s = md;
    size_t at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) s.replace(at, from.size(), to);
    return s;
  };
  auto line_of = [&](const std::string& needle) {
    size_t at = md.find(needle);
    return 1 + std::count(md.begin(), md.begin() + static_cast<long>(at), '\n');
  };
  auto error = [](const std::string& text) {
    Result<ParsedReport> r = ParseReport(text);
    EXPECT_FALSE(r);
    return r ? std::string() : r.error().message();
  };

  std::string e = error(replace("- **F2** [high]", "- **F2** [urgent]"));
  EXPECT_TRUE(
      e.starts_with("line " + std::to_string(line_of("- **F2** [high]")) + ": not a finding"))
      << e;
  e = error(replace("Overall: **FAIL**", "Overall: FAIL"));
  EXPECT_NE(e.find("no \"Overall: **PASS**\" or \"Overall: **FAIL**\" line"), std::string::npos)
      << e;
  e = error(replace("## Findings", "## Results"));
  EXPECT_EQ(e, "no \"## Findings\" section");
  e = error(replace("- **F3** lat_spike", "- **F33** lat_spike"));
  EXPECT_EQ(e, "finding F3 has no recommendation");
  e = error(replace("## Recommendations", "## Advice"));
  EXPECT_EQ(e, "no \"## Recommendations\" section");
}

TEST(FindingsParse, ToleratesCrlfAndProse) {
  std::string md = Read(kGolden / "report.md");
  std::string crlf;
  for (char c : md) {
    if (c == '\n') crlf += '\r';
    crlf += c;
  }
  size_t at = crlf.find("## Findings\r\n");
  crlf.insert(at + 13, "A note someone added.\r\n");
  Result<ParsedReport> a = ParseReport(md), b = ParseReport(crlf);
  ASSERT_TRUE(a) << a.error().message();
  ASSERT_TRUE(b) << b.error().message();
  EXPECT_EQ(a->findings, b->findings);
}

// --- Charts ------------------------------------------------------------------------------

int Count(const std::string& s, const std::string& what) {
  int n = 0;
  for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
  return n;
}

TEST(ReportChart, ShadesEachBurstAndBreaksTheLineAtEmptyTicks) {
  for (const ExperimentRun& r : GoldenRuns()) {
    std::string svg = RenderChartSvg(r);
    SCOPED_TRACE(r.scenario);
    EXPECT_TRUE(svg.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg "));
    EXPECT_TRUE(svg.ends_with("</svg>\n"));
    EXPECT_EQ(Count(svg, "fill=\"#fbd5cf\""), static_cast<int>(r.bursts.size()) + 1);  // + legend
    EXPECT_NE(svg.find(">" + r.scenario + " (intensity "), std::string::npos);
    EXPECT_NE(svg.find("p95 latency (ms)"), std::string::npos);
    // ws_disconnect has one tick without requests: two polylines.
    EXPECT_EQ(Count(svg, "<polyline"), r.scenario == "ws_disconnect" ? 2 : 1);
    // Elements are balanced: every opened text is closed, all others self-close.
    EXPECT_EQ(Count(svg, "<text"), Count(svg, "</text>"));
    EXPECT_EQ(Count(svg, "<svg"), 1);
  }
}

TEST(ReportChart, PointsFollowTheTickP95) {
  ExperimentRun r;
  r.scenario = "net_loss";
  for (int t = 0; t <= 10; ++t) {
    RunTick k;
    k.tick = t;
    k.latency_ms = {t == 5 ? 100.0 : 50.0};
    k.requests = 1;
    r.ticks.push_back(k);
  }
  r.bursts.push_back({0, 4, 6});
  std::string svg = RenderChartSvg(r);
  // Every tick is baseline (the default phase): p95 100, bound 115, so the y axis is 0..150
  // (step 50) over 300..48; x is ticks 0..10 over 64..776.
  std::smatch m;
  ASSERT_TRUE(std::regex_search(svg, m, std::regex("<polyline points=\"([^\"]*)\"")));
  std::vector<std::string> pts;
  std::istringstream in(m[1].str());
  for (std::string p; in >> p;) pts.push_back(p);
  ASSERT_EQ(pts.size(), 11u);
  EXPECT_EQ(pts[0], "64,216");
  EXPECT_EQ(pts[5], "420,132");
  EXPECT_EQ(pts[10], "776,216");
  // The burst covers ticks 4..6: x from tick 3.5 to 6.5.
  EXPECT_NE(
      svg.find("<rect x=\"313.2\" y=\"48\" width=\"213.6\" height=\"252\" fill=\"#fbd5cf\"/>"),
      std::string::npos);
  EXPECT_NE(svg.find(">150</text>"), std::string::npos);
  EXPECT_EQ(svg.find(">200</text>"), std::string::npos);
}

TEST(ReportChart, NoSamplesSaysSo) {
  ExperimentRun r;
  r.scenario = "dns_flap";
  RunTick k;
  r.ticks.push_back(k);
  std::string svg = RenderChartSvg(r);
  EXPECT_NE(svg.find("no latency samples"), std::string::npos);
  EXPECT_EQ(Count(svg, "<polyline"), 0);
}

// --- Commands ----------------------------------------------------------------------------

TEST(ReportCommand, WritesTheReportAndOneChartPerRun) {
  TempDir tmp;
  fs::path out = tmp.path() / "artifacts/chaos/chaos-report.md";
  testing::internal::CaptureStdout();
  ASSERT_EQ(ReportCommandAt(kRuns.string(), out.string(), kGeneratedAt), 0);
  std::string stdout_text = testing::internal::GetCapturedStdout();
  EXPECT_NE(stdout_text.find("FAIL (1 of 5 runs passed, 1 shadow-only), 5 charts"),
            std::string::npos)
      << stdout_text;
  std::vector<ExperimentRun> runs = GoldenRuns();
  EXPECT_EQ(Read(out), RenderReport(runs, "chaos-report-", kGeneratedAt));
  for (const ExperimentRun& r : runs) {
    fs::path svg = out.parent_path() / ("chaos-report-" + r.scenario + ".svg");
    EXPECT_EQ(Read(svg), RenderChartSvg(r)) << svg;
    EXPECT_NE(Read(out).find("](chaos-report-" + r.scenario + ".svg)"), std::string::npos);
  }

  // And findings from it.
  fs::path fj = tmp.path() / "findings.json";
  testing::internal::CaptureStdout();
  ASSERT_EQ(FindingsCommand(out.string(), fj.string()), 0);
  testing::internal::GetCapturedStdout();
  json j = json::parse(Read(fj));
  EXPECT_EQ(j["generated_from"], "chaos-report.md");
  EXPECT_EQ(j["overall"], "FAIL");
  EXPECT_EQ(j["findings"].size(), 8u);
}

TEST(ReportCommand, GoldenFilesEndToEnd) {
  TempDir tmp;
  fs::path out = tmp.path() / "report.md";
  testing::internal::CaptureStdout();
  ASSERT_EQ(ReportCommandAt(kRuns.string(), out.string(), kGeneratedAt), 0);
  ASSERT_EQ(FindingsCommand(out.string(), (tmp.path() / "findings.json").string()), 0);
  testing::internal::GetCapturedStdout();
  EXPECT_EQ(Read(out), Read(kGolden / "report.md"));
  EXPECT_EQ(Read(tmp.path() / "findings.json"), Read(kGolden / "findings.json"));
  EXPECT_EQ(Read(tmp.path() / "report-lat_spike.svg"), Read(kGolden / "report-lat_spike.svg"));
}

TEST(ReportCommand, MalformedRunFileIsNamedOnStderr) {
  TempDir tmp;
  fs::copy(kRuns, tmp.path() / "runs");
  fs::path bad = tmp.path() / "runs/1795760500-dns_flap.json";
  Write(bad, R"({"scenario": "dns_flap", "ticks": [{"tick": 0, "phase": "chaos",
      "latency_ms": [1, null], "deadline_misses": 0, "requests": 2}], "bursts": []})");
  testing::internal::CaptureStderr();
  EXPECT_EQ(ReportCommand((tmp.path() / "runs").string(), (tmp.path() / "r.md").string()), 1);
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(err, "mmchaos report: " + bad.string() +
                     ": ticks[0].latency_ms[1]: expected a number, got null\n");
  EXPECT_FALSE(fs::exists(tmp.path() / "r.md"));

  Write(bad, "not json");
  testing::internal::CaptureStderr();
  EXPECT_EQ(ReportCommand((tmp.path() / "runs").string(), (tmp.path() / "r.md").string()), 1);
  err = testing::internal::GetCapturedStderr();
  EXPECT_TRUE(err.starts_with("mmchaos report: " + bad.string() + ": malformed JSON: ")) << err;
}

TEST(ReportCommand, NoRunsIsAnError) {
  TempDir tmp;
  testing::internal::CaptureStderr();
  EXPECT_EQ(ReportCommand(tmp.path().string(), (tmp.path() / "r.md").string()), 1);
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find(tmp.path().string() + ": no run files (*.json)"), std::string::npos) << err;
}

TEST(FindingsCommand, UnreadableOrMalformedReportIsNamed) {
  TempDir tmp;
  fs::path md = tmp.path() / "report.md";
  testing::internal::CaptureStderr();
  EXPECT_EQ(FindingsCommand(md.string(), (tmp.path() / "f.json").string()), 1);
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(err, "mmchaos findings: " + md.string() + ": No such file or directory\n");

  Write(md, "# not a report\n");
  testing::internal::CaptureStderr();
  EXPECT_EQ(FindingsCommand(md.string(), (tmp.path() / "f.json").string()), 1);
  err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(err, "mmchaos findings: " + md.string() +
                     ": no \"Overall: **PASS**\" or \"Overall: **FAIL**\" line\n");
  EXPECT_FALSE(fs::exists(tmp.path() / "f.json"));
}

}  // namespace
}  // namespace mmchaos
