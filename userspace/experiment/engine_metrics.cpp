#include "experiment/engine_metrics.h"

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <sstream>

#include "experiment/http_get.h"

namespace mmchaos {
namespace {

bool NameChar(char c, bool first) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':' ||
         (!first && std::isdigit(static_cast<unsigned char>(c)));
}

std::optional<double> ParseValue(const std::string& s) {
  if (s == "+Inf" || s == "Inf") return HUGE_VAL;
  if (s == "-Inf") return -HUGE_VAL;
  if (s == "NaN") return NAN;
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

Result<std::vector<PromSample>> ParsePrometheusText(const std::string& text) {
  std::vector<PromSample> out;
  std::istringstream in(text);
  std::string line;
  for (int no = 1; std::getline(in, line); ++no) {
    auto bad = [&](const std::string& what) {
      return Fail("metrics line " + std::to_string(no) + ": " + what + ": " + line.substr(0, 120),
                  EINVAL);
    };
    size_t i = 0;
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    if (i == line.size() || line[i] == '#') continue;
    PromSample s;
    size_t start = i;
    while (i < line.size() && NameChar(line[i], i == start)) ++i;
    if (i == start) return bad("expected a metric name");
    s.name = line.substr(start, i - start);
    if (i < line.size() && line[i] == '{') {
      ++i;
      for (;;) {
        while (i < line.size() && (line[i] == ' ' || line[i] == ',')) ++i;
        if (i < line.size() && line[i] == '}') {
          ++i;
          break;
        }
        size_t ls = i;
        while (i < line.size() && NameChar(line[i], i == ls)) ++i;
        if (i == ls || i + 1 >= line.size() || line[i] != '=' || line[i + 1] != '"')
          return bad("malformed label");
        std::string key = line.substr(ls, i - ls), value;
        for (i += 2; i < line.size() && line[i] != '"'; ++i) {
          if (line[i] == '\\' && i + 1 < line.size()) {
            ++i;
            value += line[i] == 'n' ? '\n' : line[i];
          } else {
            value += line[i];
          }
        }
        if (i >= line.size()) return bad("unterminated label value");
        ++i;
        s.labels[key] = value;
      }
    }
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    size_t vs = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    auto v = ParseValue(line.substr(vs, i - vs));
    if (!v) return bad("expected a value");
    s.value = *v;
    out.push_back(std::move(s));
  }
  return out;
}

double SumSamples(const std::vector<PromSample>& samples, const std::string& name,
                  const std::map<std::string, std::string>& match) {
  double sum = 0;
  for (const auto& s : samples) {
    if (s.name != name) continue;
    bool ok = true;
    for (const auto& [k, v] : match) {
      auto it = s.labels.find(k);
      ok = ok && it != s.labels.end() && it->second == v;
    }
    if (ok) sum += s.value;
  }
  return sum;
}

Result<std::vector<PromSample>> ScrapeEngine(const std::string& url, const std::string& netns,
                                             int timeout_ms) {
  auto body = HttpGet(url, netns, timeout_ms);
  if (!body) return std::unexpected(body.error());
  return ParsePrometheusText(*body);
}

}  // namespace mmchaos
