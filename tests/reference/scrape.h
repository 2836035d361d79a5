// Reading the engine's Prometheus endpoint in tests: a bounded HTTP GET on loopback and a sum
// over the series of one metric that carry given labels.
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace reftest {

// The body of GET http://127.0.0.1:port/path, or "" on any failure (2 s socket timeouts).
std::string http_get(uint16_t port, const std::string& path);

// Sum of the samples of metric `name` (exact name, so mm_x does not match mm_x_bucket) whose
// labels include every pair in `labels`.
double metric_sum(const std::string& exposition, const std::string& name,
                  const std::map<std::string, std::string>& labels = {});

}  // namespace reftest
