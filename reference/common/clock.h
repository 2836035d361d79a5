// Clocks shared by the exchange and the engine.
#pragma once

#include <cstdint>
#include <ctime>

namespace refcommon {

// CLOCK_REALTIME in nanoseconds: the exchange stamps market data with it and the engine compares
// against its own (same host, or hosts with synchronised clocks).
inline int64_t realtime_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace refcommon
