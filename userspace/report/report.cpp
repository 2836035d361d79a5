// report.md from runs/*.json, and `mmchaos report`.
#include "report/report.h"

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include "common/log.h"

namespace mmchaos {
namespace {

std::string Utc(int64_t unix_s) {
  std::time_t t = static_cast<std::time_t>(unix_s);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

std::string Ms(const std::optional<double>& v) {
  return v ? FormatNumber(*v, 1, false) : std::string("-");
}

std::string Pct(const std::optional<double>& share) {
  return share ? FormatNumber(*share * 100, 2, true) + "%" : std::string("-");
}

std::string Triple(const PhaseStats& s) {
  if (!s.p50) return "-";
  return Ms(s.p50) + " / " + Ms(s.p95) + " / " + Ms(s.p99);
}

std::string WorstCell(const Evaluation& e) {
  if (!e.worst.measured) return "no data";
  if (!e.worst.recovered) return "not recovered";
  return std::to_string(e.worst.ticks) + (e.worst.ticks == 1 ? " tick" : " ticks");
}

std::string P95Cell(const Evaluation& e) {
  std::string s = (e.baseline.p95 ? Ms(e.baseline.p95) : "no data") + " -> " +
                  (e.chaos.p95 ? Ms(e.chaos.p95) + " ms" : "no data");
  const CriterionResult& c = e.criteria[0];
  if (c.observed_value) s += " (" + c.observed + ")";
  return s;
}

std::string Verdicts(const Evaluation& e) {
  std::string s;
  for (const CriterionResult& c : e.criteria)
    s.append(" ").append(VerdictName(c.verdict)).append(" |");
  return s;
}

std::string PerBurst(const Evaluation& e) {
  if (e.recovery_per_burst.empty()) return "-";
  std::string s;
  for (const std::optional<int64_t>& t : e.recovery_per_burst) {
    if (!s.empty()) s += ", ";
    s += t ? std::to_string(*t) : "not recovered";
  }
  return s;
}

std::string Rollbacks(const ExperimentRun& r) {
  if (r.rollbacks.empty()) return "0";
  std::string s = std::to_string(r.rollbacks.size()) + " (tick";
  if (r.rollbacks.size() > 1) s += "s";
  for (size_t i = 0; i < r.rollbacks.size(); ++i)
    s += (i ? ", " : " ") + std::to_string(r.rollbacks[i].tick);
  return s + ")";
}

// "recovery_ticks_max 5 (default 3), ..." for the keys that differ from the defaults.
std::string AcceptanceChanges(const Acceptance& a) {
  const Acceptance d;
  std::string s;
  auto add = [&](const char* key, const std::string& v, const std::string& def) {
    if (v == def) return;
    if (!s.empty()) s += ", ";
    s += std::string("`") + key + "` " + v + " (default " + def + ")";
  };
  auto num = [](double v) { return FormatNumber(v, 6, true); };
  add("p95_regression_max", num(a.p95_regression_max), num(d.p95_regression_max));
  add("deadline_miss_max", num(a.deadline_miss_max), num(d.deadline_miss_max));
  add("recovery_ticks_max", std::to_string(a.recovery_ticks_max),
      std::to_string(d.recovery_ticks_max));
  add("p99_max_ms_under_lat_spike", num(a.p99_max_ms_under_lat_spike),
      num(d.p99_max_ms_under_lat_spike));
  add("discrepancies_all_detected", a.discrepancies_all_detected ? "true" : "false",
      d.discrepancies_all_detected ? "true" : "false");
  return s;
}

const char* kMethod = R"(## Method

Each run is one `mmchaos experiment`: baseline ticks (injector attached in shadow mode), then the
chaos phase with its bursts (live unless `dry_run`), then recovery ticks. Figures per run:

- **Latency percentiles** are nearest-rank: the p-th percentile of n samples is the
  ceil(p/100 * n)-th smallest. A phase's p50/p95/p99 are over every `latency_ms` sample of the
  phase's ticks. "-" or "no data" means the phase had no samples.
- **Deadline-miss rate** of a phase = deadline misses / requests over the phase's ticks.
- **Recovery bound** = baseline p95 * (1 + `p95_regression_max`). A tick is recovered when it
  has latency samples, their p95 is within the bound and it has no deadline miss.
- **Recovery ticks of a burst** = the ticks between the burst's last tick (`end_tick`,
  inclusive) and the first recovered tick: 0 when the tick right after the burst is already
  recovered. Only ticks before the next burst are looked at; none recovered there means "not
  recovered". **Worst recovery** is the maximum over the run's bursts.
- **Chart**: p95 of each tick's latency samples (line; gaps are ticks without samples), bursts
  shaded, baseline p95 and recovery bound dashed, red dots on ticks with deadline misses,
  purple lines where a rollback trigger fired.

Criteria, each PASS or FAIL (n/a when it does not apply), with thresholds from the run's
`acceptance` (defaults in brackets); a run is PASS when every judged criterion passes and it made
live injections, SHADOW when they pass but it made none (`dry_run`, or nothing drawn: its
figures are of an engine that met no fault, so it is neither passed nor failed), and the report
is PASS when every run is PASS:

| Criterion | Passes when |
|---|---|
| p95_regression | chaos p95 <= baseline p95 * (1 + `p95_regression_max` [0.15]) |
| deadline_miss | chaos deadline-miss rate < `deadline_miss_max` [0.02] |
| recovery | worst recovery <= `recovery_ticks_max` [3] ticks |
| p99_lat_spike | scenario lat_spike only: chaos p99 < `p99_max_ms_under_lat_spike` [250] ms |
| discrepancies | discrepancies detected >= created (n/a when `discrepancies_all_detected` is false) |

A criterion without the data to judge it fails ("no data"). Values within 1e-9 (relative) of a
threshold count as equal to it.

Severity: **high** when p95_regression, deadline_miss or recovery misses by more than twice
the threshold (regression over 2 x `p95_regression_max`, miss rate over 2 x
`deadline_miss_max`, recovery over 2 x `recovery_ticks_max` ticks or never); **medium** for
any other failed criterion; **low** for warnings, which do not fail a run: shadow_only (a
`dry_run` run, or one without a live injection) and rollback (a rollback trigger fired).
)";

}  // namespace

std::vector<std::string> RunLabels(const std::vector<ExperimentRun>& runs) {
  std::map<std::string, int> total, seen;
  for (const ExperimentRun& r : runs) ++total[r.scenario];
  std::vector<std::string> labels;
  for (const ExperimentRun& r : runs) {
    if (total[r.scenario] == 1)
      labels.push_back(r.scenario);
    else
      labels.push_back(r.scenario + "-" + std::to_string(++seen[r.scenario]));
  }
  return labels;
}

std::string RenderReport(const std::vector<ExperimentRun>& runs, const std::string& chart_prefix,
                         int64_t generated_unix) {
  std::vector<Evaluation> evals;
  for (const ExperimentRun& r : runs) evals.push_back(Evaluate(r));
  std::vector<std::string> labels = RunLabels(runs);
  std::vector<Finding> findings = CollectFindings(runs, evals);
  size_t passed = 0, shadow = 0;
  for (const Evaluation& e : evals) {
    passed += VerdictOf(e) == RunVerdict::kPass;
    shadow += VerdictOf(e) == RunVerdict::kShadow;
  }
  bool pass = passed == runs.size();

  std::ostringstream o;
  o << "# mmchaos chaos report\n\n";
  o << "Generated " << Utc(generated_unix) << " from " << runs.size()
    << (runs.size() == 1 ? " run" : " runs") << ".\n\n";
  std::set<std::string> endpoints;
  for (const ExperimentRun& r : runs) endpoints.insert(r.endpoints.begin(), r.endpoints.end());
  if (!endpoints.empty()) {
    size_t tls = 0;
    o << "Exchange endpoints:";
    for (const auto& e : endpoints) {
      o << " `" << e << "`";
      tls += e.starts_with("https://") || e.starts_with("wss://");
    }
    o << (tls == endpoints.size() ? " (TLS: the engine met the exchange over HTTPS/WSS)"
          : tls                   ? " (partly TLS)"
                                  : " (plaintext)")
      << ".\n\n";
  }
  o << "Overall: **" << (pass ? "PASS" : "FAIL") << "** (" << passed << " of " << runs.size()
    << (runs.size() == 1 ? " run" : " runs") << " passed"
    << (shadow ? ", " + std::to_string(shadow) + " shadow-only" : "") << "; " << findings.size()
    << (findings.size() == 1 ? " finding" : " findings") << ")\n\n";

  o << "## Scenarios\n\n";
  o << "| Scenario | Intensity | Bursts | Injections live/shadow | p95 baseline -> chaos "
       "| Deadline miss (chaos) | Worst recovery | p95_regression | deadline_miss | recovery "
       "| p99_lat_spike | discrepancies | Overall |\n";
  o << "|---|---:|---:|---:|---|---:|---|---|---|---|---|---|---|\n";
  for (size_t i = 0; i < runs.size(); ++i) {
    const ExperimentRun& r = runs[i];
    const Evaluation& e = evals[i];
    o << "| " << labels[i] << " | " << FormatNumber(r.intensity, 4, true) << " | "
      << r.bursts.size() << " | " << r.injections_live << "/" << r.injections_shadow << " | "
      << P95Cell(e) << " | " << (e.chaos.miss_rate ? Pct(e.chaos.miss_rate) : "no data") << " | "
      << WorstCell(e) << " |" << Verdicts(e) << " **" << RunVerdictName(VerdictOf(e)) << "** |\n";
  }
  o << "\n";
  bool custom = false;
  for (size_t i = 0; i < runs.size(); ++i) {
    std::string diff = AcceptanceChanges(runs[i].acceptance);
    if (diff.empty()) continue;
    if (!custom) o << "Thresholds other than the defaults (see Method):\n\n";
    custom = true;
    o << "- " << labels[i] << ": " << diff << "\n";
  }
  if (!custom) o << "Every run uses the default thresholds (see Method).\n";
  o << "\n";

  o << "## Details\n\n";
  o << "| Scenario | Run | Baseline p50/p95/p99 ms | Chaos p50/p95/p99 ms "
       "| Recovery p50/p95/p99 ms "
       "| Deadline miss: baseline / chaos / recovery | Recovery per burst (ticks) "
       "| Reconnects rest/ws | WS gaps (p99) | Discrepancies detected/created | Rollbacks |\n";
  o << "|---|---|---|---|---|---|---|---:|---|---:|---|\n";
  for (size_t i = 0; i < runs.size(); ++i) {
    const ExperimentRun& r = runs[i];
    const Evaluation& e = evals[i];
    o << "| " << labels[i] << " | `" << r.source << "` | " << Triple(e.baseline) << " | "
      << Triple(e.chaos) << " | " << Triple(e.recovery) << " | " << Pct(e.baseline.miss_rate)
      << " / " << Pct(e.chaos.miss_rate) << " / " << Pct(e.recovery.miss_rate) << " | "
      << PerBurst(e) << " | " << r.reconnects_rest << "/" << r.reconnects_ws << " | "
      << r.ws_gaps_count << " (" << FormatNumber(r.ws_gaps_p99_ms, 1, false) << " ms) | "
      << r.discrepancies_detected << "/" << r.discrepancies_created << " | " << Rollbacks(r)
      << " |\n";
  }
  o << "\n";

  o << "## Findings\n\n";
  if (findings.empty()) o << "No findings: every criterion passed and no warning applies.\n";
  for (const Finding& f : findings)
    o << "- **" << f.id << "** [" << f.severity << "] `" << f.scenario << "` " << f.criterion
      << ": observed " << f.observed << ", threshold " << f.threshold << " (run `" << f.run
      << "`)\n";
  o << "\n## Recommendations\n\n";
  if (findings.empty()) o << "None.\n";
  for (const Finding& f : findings) o << "- **" << f.id << "** " << f.recommendation << "\n";

  o << "\n## Charts\n\n";
  o << "p95 latency per tick; bursts shaded (legend under each chart).\n";
  for (size_t i = 0; i < runs.size(); ++i) {
    const ExperimentRun& r = runs[i];
    o << "\n### " << labels[i] << "\n\n";
    o << "Run `" << r.source << "`: started " << Utc(r.started_unix) << ", " << r.ticks.size()
      << " ticks of " << r.tick_ms << " ms, " << (r.dry_run ? "shadow (dry_run)" : "live")
      << ", intensity " << FormatNumber(r.intensity, 4, true) << ".\n\n";
    o << "![" << labels[i] << ": p95 latency per tick, bursts shaded](" << chart_prefix << labels[i]
      << ".svg)\n";
  }
  o << "\n" << kMethod;
  return o.str();
}

int ReportCommandAt(const std::string& runs_dir, const std::string& output_md,
                    int64_t generated_unix) {
  namespace fs = std::filesystem;
  Result<std::vector<ExperimentRun>> runs = LoadRuns(runs_dir);
  if (!runs) {
    LogFrom("report", runs.error().message());
    return 1;
  }
  fs::path out(output_md);
  fs::path dir = out.parent_path();
  std::string stem = out.stem().string();
  if (stem.empty()) {
    LogFrom("report", output_md + ": --output must name a file");
    return 1;
  }
  std::error_code ec;
  if (!dir.empty()) fs::create_directories(dir, ec);
  if (ec) {
    LogFrom("report", dir.string() + ": " + ec.message());
    return 1;
  }
  auto write = [](const fs::path& p, const std::string& text) {
    std::ofstream f(p, std::ios::binary | std::ios::trunc);
    f << text;
    f.close();
    if (!f) {
      LogFrom("report", p.string() + ": " + std::strerror(errno));
      return false;
    }
    return true;
  };
  std::vector<std::string> labels = RunLabels(*runs);
  for (size_t i = 0; i < runs->size(); ++i)
    if (!write(dir / (stem + "-" + labels[i] + ".svg"), RenderChartSvg((*runs)[i]))) return 1;
  if (!write(out, RenderReport(*runs, stem + "-", generated_unix))) return 1;
  size_t passed = 0, shadow = 0;
  for (const ExperimentRun& r : *runs) {
    const RunVerdict v = VerdictOf(Evaluate(r));
    passed += v == RunVerdict::kPass;
    shadow += v == RunVerdict::kShadow;
  }
  std::cout << output_md << ": " << (passed == runs->size() ? "PASS" : "FAIL") << " (" << passed
            << " of " << runs->size() << " runs passed"
            << (shadow ? ", " + std::to_string(shadow) + " shadow-only" : "") << "), "
            << runs->size() << " charts\n";
  return 0;
}

int ReportCommand(const std::string& runs_dir, const std::string& output_md) {
  return ReportCommandAt(runs_dir, output_md, static_cast<int64_t>(std::time(nullptr)));
}

}  // namespace mmchaos
