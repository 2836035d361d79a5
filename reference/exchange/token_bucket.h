// Token-bucket rate limiting per client IP, as exchanges do for REST weight limits.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace refexchange {

using Clock = std::chrono::steady_clock;

// One bucket: holds up to `burst` tokens, refilled at `rate` tokens per second; a request takes
// one token. Pure: the caller passes the time.
class TokenBucket {
 public:
  TokenBucket(double rate, double burst, Clock::time_point now);

  // Takes a token and returns 0 when one is available; otherwise takes nothing and returns the
  // whole seconds to wait until one will be (>= 1), for a Retry-After header.
  int64_t take(Clock::time_point now);
  double tokens() const { return tokens_; }
  Clock::time_point last() const { return last_; }

 private:
  void refill(Clock::time_point now);
  double rate_;
  double burst_;
  double tokens_;
  Clock::time_point last_;
};

// The buckets of every client IP. Thread-safe. rate <= 0 disables limiting.
class RateLimiter {
 public:
  RateLimiter(double rate, double burst);

  // 0 when the request may go ahead, else the Retry-After seconds.
  int64_t admit(const std::string& client_ip, Clock::time_point now = Clock::now());
  size_t clients() const;

 private:
  double rate_;
  double burst_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, TokenBucket> buckets_;
};

}  // namespace refexchange
