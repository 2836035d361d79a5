// `mmchaos rollback`'s sequence, from any shell: everything mmchaos placed on this host goes, in
// the order that stops injection first (kernel links, then the preloads' records, memory.high,
// the netem path), whether its controller runs, crashed or was killed.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "controller/registry.h"

namespace mmchaos {

struct RollbackOutcome {
  // Walking the kernel's links failed: nothing after the memory restore was attempted.
  std::optional<Error> detach_error;
  int links_detached = 0;
  size_t controllers_stopped = 0;      // live when the links went
  int stale_removed = 0;               // records of dead controllers with nothing left to undo
  std::vector<std::string> done;       // one line per thing undone (or why it was left)
  pid_t still_running = 0;             // a controller that did not exit within 3 s, 0 if none
  std::vector<DamagedRecord> damaged;  // records that cannot be read: not undone
};

RollbackOutcome RollbackHost();

}  // namespace mmchaos
