#include "experiment/engine_metrics.h"

#include <curl/curl.h>

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>

#include "tc/netns.h"

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

size_t Append(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
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
  static std::once_flag init;
  std::call_once(init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  std::string body;
  CURLcode rc;
  long status = 0;
  {
    // The socket is created in this thread's namespace: enter the target's for the request.
    auto ns = NetnsGuard::Enter(netns);
    if (!ns) return std::unexpected(ns.error());
    std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> c(curl_easy_init(), curl_easy_cleanup);
    if (!c) return Fail("curl_easy_init", ENOMEM);
    curl_easy_setopt(c.get(), CURLOPT_URL, url.c_str());
    curl_easy_setopt(c.get(), CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_ms));
    curl_easy_setopt(c.get(), CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c.get(), CURLOPT_NOPROXY, "*");
    curl_easy_setopt(c.get(), CURLOPT_WRITEFUNCTION, &Append);
    curl_easy_setopt(c.get(), CURLOPT_WRITEDATA, &body);
    rc = curl_easy_perform(c.get());
    curl_easy_getinfo(c.get(), CURLINFO_RESPONSE_CODE, &status);
  }
  if (rc != CURLE_OK)
    return Fail(std::string("GET ") + url + ": " + curl_easy_strerror(rc), EIO,
                "is target.metrics_url reachable from target.netns?");
  if (status != 200)
    return Fail("GET " + url + ": HTTP " + std::to_string(status), EIO,
                "target.metrics_url must be the engine's Prometheus /metrics");
  return ParsePrometheusText(body);
}

}  // namespace mmchaos
