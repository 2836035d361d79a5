#include "token_bucket.h"

#include <algorithm>
#include <cmath>

namespace refexchange {

TokenBucket::TokenBucket(double rate, double burst, Clock::time_point now)
    : rate_(rate), burst_(std::max(burst, 1.0)), tokens_(burst_), last_(now) {}

void TokenBucket::refill(Clock::time_point now) {
  if (now <= last_) return;
  const double elapsed = std::chrono::duration<double>(now - last_).count();
  tokens_ = std::min(burst_, tokens_ + elapsed * rate_);
  last_ = now;
}

int64_t TokenBucket::take(Clock::time_point now) {
  refill(now);
  if (tokens_ >= 1.0) {
    tokens_ -= 1.0;
    return 0;
  }
  const double wait_s = (1.0 - tokens_) / rate_;
  return std::max<int64_t>(1, static_cast<int64_t>(std::ceil(wait_s)));
}

RateLimiter::RateLimiter(double rate, double burst) : rate_(rate), burst_(burst) {}

int64_t RateLimiter::admit(const std::string& client_ip, Clock::time_point now) {
  if (rate_ <= 0) return 0;
  std::lock_guard lock(mu_);
  // Bounded memory: forget clients whose bucket has been full (idle) for a while.
  constexpr size_t kMaxClients = 4096;
  if (buckets_.size() >= kMaxClients) {
    std::erase_if(buckets_, [&](const auto& kv) {
      return now - kv.second.last() > std::chrono::seconds(60);
    });
  }
  auto it = buckets_.find(client_ip);
  if (it == buckets_.end()) it = buckets_.emplace(client_ip, TokenBucket(rate_, burst_, now)).first;
  return it->second.take(now);
}

size_t RateLimiter::clients() const {
  std::lock_guard lock(mu_);
  return buckets_.size();
}

}  // namespace refexchange
