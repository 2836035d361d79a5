// findings.json from report.md, and `mmchaos findings`.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <regex>
#include <sstream>

#include "common/log.h"
#include "report/report.h"

namespace mmchaos {
namespace {

std::string Line(size_t n) { return "line " + std::to_string(n); }

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

}  // namespace

Result<ParsedReport> ParseReport(const std::string& report_md) {
  static const std::regex kOverall(R"(^Overall: \*\*(PASS|FAIL)\*\*.*$)");
  static const std::regex kFinding(
      R"(^- \*\*(F[0-9]+)\*\* \[(high|medium|low)\] `([a-z0-9_]+)` ([a-z0-9_]+): observed (.+?), threshold (.+?) \(run `([^`]*)`\)$)");
  static const std::regex kRecommendation(R"(^- \*\*(F[0-9]+)\*\* (.+)$)");

  std::vector<std::string> lines;
  {
    std::istringstream in(report_md);
    std::string l;
    while (std::getline(in, l)) {
      if (!l.empty() && l.back() == '\r') l.pop_back();
      lines.push_back(l);
    }
  }
  ParsedReport out;
  bool have_overall = false, have_findings = false, have_recs = false;
  std::map<std::string, std::string> recs;
  std::map<std::string, size_t> rec_line;
  enum { kOther, kFindings, kRecs } section = kOther;
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& l = lines[i];
    size_t n = i + 1;
    std::smatch m;
    if (l.starts_with("## ")) {
      std::string title = Trim(l.substr(3));
      if (title == "Findings") {
        if (have_findings) return Fail(Line(n) + ": a second \"## Findings\" section");
        have_findings = true;
        section = kFindings;
      } else if (title == "Recommendations") {
        if (have_recs) return Fail(Line(n) + ": a second \"## Recommendations\" section");
        have_recs = true;
        section = kRecs;
      } else {
        section = kOther;
      }
      continue;
    }
    if (section == kOther && !have_findings && std::regex_match(l, m, kOverall)) {
      if (have_overall) return Fail(Line(n) + ": a second \"Overall:\" line");
      have_overall = true;
      out.pass = m[1] == "PASS";
      continue;
    }
    if (!l.starts_with("- ")) continue;  // prose between bullets is allowed
    if (section == kFindings) {
      if (!std::regex_match(l, m, kFinding))
        return Fail(Line(n) +
                    ": not a finding (expected \"- **F<n>** [high|medium|low] "
                    "`<scenario>` <criterion>: observed <value>, threshold <value> "
                    "(run `<file>`)\"): " +
                    l);
      Finding f;
      f.id = m[1];
      f.severity = m[2];
      f.scenario = m[3];
      f.criterion = m[4];
      f.observed = m[5];
      f.threshold = m[6];
      f.run = m[7];
      f.observed_value = LeadingNumber(f.observed);
      f.threshold_value = LeadingNumber(f.threshold);
      f.unit = std::string(CriterionUnit(f.criterion));
      for (const Finding& g : out.findings)
        if (g.id == f.id) return Fail(Line(n) + ": finding " + f.id + " listed twice");
      out.findings.push_back(std::move(f));
    } else if (section == kRecs) {
      if (!std::regex_match(l, m, kRecommendation))
        return Fail(Line(n) + ": not a recommendation (expected \"- **F<n>** <text>\"): " + l);
      if (recs.count(m[1])) return Fail(Line(n) + ": a second recommendation for " + m[1].str());
      recs[m[1]] = m[2];
      rec_line[m[1]] = n;
    }
  }
  if (!have_overall) return Fail("no \"Overall: **PASS**\" or \"Overall: **FAIL**\" line");
  if (!have_findings) return Fail("no \"## Findings\" section");
  if (!have_recs) return Fail("no \"## Recommendations\" section");
  for (Finding& f : out.findings) {
    auto it = recs.find(f.id);
    if (it == recs.end()) return Fail("finding " + f.id + " has no recommendation");
    f.recommendation = it->second;
    recs.erase(it);
  }
  if (!recs.empty())
    return Fail(Line(rec_line[recs.begin()->first]) + ": recommendation " + recs.begin()->first +
                " has no finding");
  return out;
}

nlohmann::ordered_json FindingsJson(const ParsedReport& report, const std::string& generated_from) {
  nlohmann::ordered_json j;
  j["generated_from"] = generated_from;
  j["overall"] = report.pass ? "PASS" : "FAIL";
  j["findings"] = nlohmann::ordered_json::array();
  for (const Finding& f : report.findings) {
    nlohmann::ordered_json o;
    o["id"] = f.id;
    o["scenario"] = f.scenario;
    o["criterion"] = f.criterion;
    o["observed"] = f.observed;
    o["threshold"] = f.threshold;
    o["severity"] = f.severity;
    o["recommendation"] = f.recommendation;
    o["observed_value"] = f.observed_value ? nlohmann::ordered_json(*f.observed_value) : nullptr;
    o["threshold_value"] = f.threshold_value ? nlohmann::ordered_json(*f.threshold_value) : nullptr;
    o["unit"] = f.unit;
    o["run"] = f.run;
    j["findings"].push_back(std::move(o));
  }
  return j;
}

Result<nlohmann::ordered_json> ParseFindings(const std::string& report_md,
                                             const std::string& generated_from) {
  Result<ParsedReport> r = ParseReport(report_md);
  if (!r) return std::unexpected(r.error());
  return FindingsJson(*r, generated_from);
}

int FindingsCommand(const std::string& report_md, const std::string& output_json) {
  namespace fs = std::filesystem;
  std::ifstream in(report_md, std::ios::binary);
  if (!in) {
    LogFrom("findings", Error{report_md, errno, {}}.message());
    return 1;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  Result<nlohmann::ordered_json> j =
      ParseFindings(ss.str(), fs::path(report_md).filename().string());
  if (!j) {
    LogFrom("findings", report_md + ": " + j.error().message());
    return 1;
  }
  fs::path out(output_json);
  std::error_code ec;
  if (!out.parent_path().empty()) fs::create_directories(out.parent_path(), ec);
  if (ec) {
    LogFrom("findings", out.parent_path().string() + ": " + ec.message());
    return 1;
  }
  std::ofstream f(out, std::ios::binary | std::ios::trunc);
  f << j->dump(2) << "\n";
  f.close();
  if (!f) {
    LogFrom("findings", Error{output_json, errno, {}}.message());
    return 1;
  }
  std::cout << output_json << ": " << (*j)["findings"].size() << " findings, overall "
            << (*j)["overall"].get<std::string>() << "\n";
  return 0;
}

}  // namespace mmchaos
