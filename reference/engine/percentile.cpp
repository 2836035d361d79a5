#include "percentile.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace refengine {

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return std::numeric_limits<double>::quiet_NaN();
  std::ranges::sort(values);
  p = std::clamp(p, 0.0, 100.0);
  // Nearest rank: the smallest value with at least p% of the samples at or below it.
  auto rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(values.size())));
  rank = std::clamp<size_t>(rank, 1, values.size());
  return values[rank - 1];
}

SampleSet::SampleSet(size_t capacity) : capacity_(std::max<size_t>(capacity, 1)) {}

void SampleSet::add(double v) {
  ++count_;
  sum_ += v;
  max_ = count_ == 1 ? v : std::max(max_, v);
  if (samples_.size() < capacity_) {
    samples_.push_back(v);
    return;
  }
  std::uniform_int_distribution<uint64_t> pick(0, count_ - 1);
  if (const uint64_t j = pick(rng_); j < capacity_) samples_[j] = v;
}

double SampleSet::percentile(double p) const { return refengine::percentile(samples_, p); }

}  // namespace refengine
