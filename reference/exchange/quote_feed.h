// Market data the exchange streams: a bounded random walk of the mid price and the text of one
// stream message.
#pragma once

#include <cstdint>
#include <random>
#include <string>

namespace refexchange {

struct Quote {
  double bid = 0;
  double ask = 0;
};

class QuoteFeed {
 public:
  explicit QuoteFeed(uint64_t seed, double start_mid = 100.0);
  Quote next();

 private:
  std::mt19937_64 rng_;
  double mid_;
};

// {"seq":N,"ts_ns":...,"symbol":"...","bid":...,"ask":...}
std::string market_data_message(uint64_t seq, int64_t ts_ns, const std::string& symbol,
                                const Quote& q);

}  // namespace refexchange
