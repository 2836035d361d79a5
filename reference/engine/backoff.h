// Capped exponential backoff, and the Retry-After header of a 429.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace refengine {

class Backoff {
 public:
  Backoff(std::chrono::milliseconds base, std::chrono::milliseconds cap);
  // base, 2*base, 4*base, ... never above cap.
  std::chrono::milliseconds next();
  void reset() { attempts_ = 0; }
  int attempts() const { return attempts_; }

 private:
  std::chrono::milliseconds base_;
  std::chrono::milliseconds cap_;
  int attempts_ = 0;
};

// Retry-After as delta-seconds ("3"); nullopt for anything else (HTTP dates are not used by the
// mock exchange and are treated as absent).
std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value);

}  // namespace refengine
