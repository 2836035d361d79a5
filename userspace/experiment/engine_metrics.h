// The engine's own Prometheus metrics (target.metrics_url): fetched from inside the target's network
// namespace (experiment/http_get.h) and parsed from the text exposition format.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/error.h"

namespace mmchaos {

struct PromSample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

// Parses the text format (comments and blank lines skipped; escapes in label values decoded).
// The error names the line.
Result<std::vector<PromSample>> ParsePrometheusText(const std::string& text);

// The sum of every sample named `name` whose labels include all of `match`.
double SumSamples(const std::vector<PromSample>& samples, const std::string& name,
                  const std::map<std::string, std::string>& match = {});

// GET url from inside netns ("" = the caller's namespace), at most timeout_ms.
Result<std::vector<PromSample>> ScrapeEngine(const std::string& url, const std::string& netns,
                                             int timeout_ms);

}  // namespace mmchaos
