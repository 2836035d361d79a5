// Latency samples for the --stats-json summary: nearest-rank percentiles over a bounded
// reservoir (exact until `capacity` samples, a uniform sample of them after).
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

namespace refengine {

// Nearest-rank percentile (p in [0, 100]) of `values` (taken by value: it sorts); NaN if empty.
double percentile(std::vector<double> values, double p);

class SampleSet {
 public:
  explicit SampleSet(size_t capacity = 100'000);
  void add(double v);
  uint64_t count() const { return count_; }
  double percentile(double p) const;
  double max() const { return max_; }
  double sum() const { return sum_; }

 private:
  size_t capacity_;
  std::vector<double> samples_;
  uint64_t count_ = 0;
  double max_ = 0;
  double sum_ = 0;
  std::mt19937_64 rng_{42};
};

}  // namespace refengine
