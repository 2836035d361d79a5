// `mmchaos rollback`'s sequence, from any shell: everything mmchaos placed on this host goes, in
// the order that stops injection first (kernel links, then the preloads' records, memory.high,
// the netem path), whether its controller runs, crashed or was killed. Then what no readable
// record names is looked for by what it is: mmchaos' devices and clsact filters in every network
// namespace, and the cgroups whose memory.high carries mmchaos' mark (cgroup/memory.h), so a
// damaged, deleted or half-written record still leaves nothing injecting.
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
  size_t controllers_stopped = 0;  // live when the links went
  // Lock records of dead controllers, removed (pid 0 where the record was not readable).
  std::vector<ControllerRecord> stale_removed;
  std::vector<std::string> done;       // one line per thing undone (or why it was left)
  pid_t still_running = 0;             // a controller that did not exit within 3 s, 0 if none
  std::vector<DamagedRecord> damaged;  // records that cannot be read (files left for the operator)
  // What may be mmchaos' and was not undone (found without a record, or a record's step that
  // failed), with why; empty when everything found is undone.
  std::vector<std::string> left;
};

RollbackOutcome RollbackHost();

// The line `mmchaos rollback` ends with: what was undone, or that there was nothing. Stale lock
// records alone are said as such ("removed 1 stale record(s) (pid 812 gone): nothing was
// attached"), never as "nothing to roll back".
std::string RollbackSummary(const RollbackOutcome& o);

}  // namespace mmchaos
