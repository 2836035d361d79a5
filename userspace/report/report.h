// The seed's artifacts: `mmchaos report` (runs/*.json -> report.md + one SVG chart per run) and
// `mmchaos findings` (report.md -> findings.json). The figures and verdicts are defined in
// report/analysis.h; the run file schema in report/run.h.
//
// report.md, in order: a title; "Generated <UTC time> from N runs."; "Overall: **PASS|FAIL**";
// "## Scenarios" (one row per run: scenario, intensity, bursts, injections live/shadow, p95
// baseline -> chaos, chaos deadline-miss rate, worst recovery, PASS/FAIL/n/a per criterion,
// the run's verdict: PASS, FAIL or SHADOW); "## Details" (per-phase p50/p95/p99, per-burst
// recovery, reconnects, WS gaps, discrepancies, rollbacks); "## Findings", one bullet per failed
// criterion or warning:
//
//   - **F1** [medium] `exch_429` deadline_miss: observed 3%, threshold < 2% (run `x.json`)
//
// "## Recommendations", one bullet per finding: "- **F1** exch_429: engine exceeded ...";
// "## Charts" (per run: its metadata and an image link to <chart_prefix><label>.svg); "## Method".
// FindingsCommand reads the Overall line and the Findings/Recommendations bullets back.
//
// findings.json:
//   {"generated_from": "report.md", "overall": "PASS"|"FAIL",
//    "findings": [{"id": "F1", "scenario", "criterion", "observed": "3%", "threshold": "< 2%",
//                  "severity": "high"|"medium"|"low", "recommendation",
//                  "observed_value": 3 (null when the text has no number, e.g. "not recovered"),
//                  "threshold_value": 2, "unit": "%", "run": "x.json"}]}
// Both commands return 0 whatever the verdicts say; 1 only when they cannot do their job.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "report/analysis.h"
#include "report/run.h"

namespace mmchaos {

// Per run (in order): the label naming its chart, "<scenario>", or "<scenario>-<n>" (n from 1)
// when several runs share a scenario.
std::vector<std::string> RunLabels(const std::vector<ExperimentRun>& runs);

// report.md for `runs` (in the order given). Charts are linked as <chart_prefix><label>.svg
// (relative to the report). `generated_unix` is the time it states (injectable for tests).
std::string RenderReport(const std::vector<ExperimentRun>& runs, const std::string& chart_prefix,
                         int64_t generated_unix);

// The run's chart as a standalone SVG document: p95 latency per tick as a line (broken across
// ticks without samples), bursts shaded, baseline p95 and the recovery bound as dashed lines,
// ticks with deadline misses marked, rollbacks as vertical lines, labelled axes and a legend.
std::string RenderChartSvg(const ExperimentRun& r);

struct ParsedReport {
  bool pass = false;
  std::vector<Finding> findings;
};

// Reads back what RenderReport wrote: the Overall line and the Findings/Recommendations
// sections. Errors name the line ("line 42: ...").
Result<ParsedReport> ParseReport(const std::string& report_md);

// findings.json (see above) from a parsed report.
nlohmann::ordered_json FindingsJson(const ParsedReport& report, const std::string& generated_from);

// ParseReport + FindingsJson.
Result<nlohmann::ordered_json> ParseFindings(const std::string& report_md,
                                             const std::string& generated_from);

// `mmchaos report --runs DIR --output report.md`: writes report.md and, next to it,
// <stem>-<label>.svg per run (directories created). Prints one summary line to stdout; on error
// prints "mmchaos report: <why>" to stderr (naming the file) and returns 1.
int ReportCommand(const std::string& runs_dir, const std::string& output_md);
// The same, stating `generated_unix` as the generation time.
int ReportCommandAt(const std::string& runs_dir, const std::string& output_md,
                    int64_t generated_unix);

// `mmchaos findings --report report.md --output findings.json`; "generated_from" is the
// report's file name. Errors go to stderr as "mmchaos findings: <file>: <why>"; returns 1.
int FindingsCommand(const std::string& report_md, const std::string& output_json);

}  // namespace mmchaos
