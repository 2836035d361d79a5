#include "quote_feed.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

namespace refexchange {

QuoteFeed::QuoteFeed(uint64_t seed, double start_mid) : rng_(seed), mid_(start_mid) {}

Quote QuoteFeed::next() {
  std::uniform_int_distribution<int> step(-1, 1);
  mid_ = std::clamp(mid_ + 0.01 * step(rng_), 50.0, 150.0);
  const double mid = std::round(mid_ * 100.0) / 100.0;
  return Quote{mid - 0.01, mid + 0.01};
}

std::string market_data_message(uint64_t seq, int64_t ts_ns, const std::string& symbol,
                                const Quote& q) {
  return nlohmann::json{
      {"seq", seq}, {"ts_ns", ts_ns}, {"symbol", symbol}, {"bid", q.bid}, {"ask", q.ask}}
      .dump();
}

}  // namespace refexchange
