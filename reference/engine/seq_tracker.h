// Sequence checking of the market-data stream: each connection's seq must go up by one.
#pragma once

#include <cstdint>

namespace refengine {

class SeqTracker {
 public:
  struct Result {
    uint64_t missed = 0;        // messages skipped before this one (a gap when > 0)
    bool out_of_order = false;  // seq did not increase (duplicate or regression)
  };
  // The first message after reset() only sets the baseline.
  Result on_message(uint64_t seq);
  // A new connection: its seq starts over.
  void reset() { have_last_ = false; }
  uint64_t last() const { return last_; }

 private:
  bool have_last_ = false;
  uint64_t last_ = 0;
};

}  // namespace refengine
