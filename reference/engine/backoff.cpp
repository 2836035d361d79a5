#include "backoff.h"

#include <algorithm>
#include <charconv>

namespace refengine {

Backoff::Backoff(std::chrono::milliseconds base, std::chrono::milliseconds cap)
    : base_(std::max(base, std::chrono::milliseconds(1))), cap_(std::max(cap, base_)) {}

std::chrono::milliseconds Backoff::next() {
  auto delay = base_;
  for (int i = 0; i < attempts_ && delay < cap_; ++i) delay *= 2;
  ++attempts_;
  return std::min(delay, cap_);
}

std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  if (value.empty() || value.size() > 9) return std::nullopt;
  long seconds = 0;
  auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (ec != std::errc{} || p != value.data() + value.size() || seconds < 0) return std::nullopt;
  return std::chrono::milliseconds(seconds * 1000);
}

}  // namespace refengine
