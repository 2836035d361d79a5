// The latest quote from the market-data stream, read by the trader to price its orders.
#pragma once

#include <cstdint>

namespace refengine {

struct MarketState {
  double bid = 0;
  double ask = 0;
  int64_t ts_ns = 0;
  bool valid = false;
};

}  // namespace refengine
