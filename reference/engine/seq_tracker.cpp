#include "seq_tracker.h"

namespace refengine {

SeqTracker::Result SeqTracker::on_message(uint64_t seq) {
  Result r;
  if (have_last_) {
    if (seq <= last_) {
      r.out_of_order = true;
      return r;  // keep the high-water mark
    }
    r.missed = seq - last_ - 1;
  }
  have_last_ = true;
  last_ = seq;
  return r;
}

}  // namespace refengine
