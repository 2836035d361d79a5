// The line `mmchaos rollback` ends with: "nothing to roll back" only when nothing was found;
// stale lock records alone are said with the pids they named.
#include <gtest/gtest.h>

#include "controller/rollback.h"

namespace mmchaos {
namespace {

ControllerRecord Stale(pid_t pid) {
  ControllerRecord r;
  r.pid = pid;
  return r;
}

TEST(RollbackSummary, NothingFoundIsNothingToRollBack) {
  EXPECT_EQ(RollbackSummary({}), "nothing to roll back");
}

TEST(RollbackSummary, StaleRecordsAloneAreSaidWithThePidsTheyNamed) {
  RollbackOutcome o;
  o.stale_removed = {Stale(812)};
  EXPECT_EQ(RollbackSummary(o), "removed 1 stale record(s) (pid 812 gone): nothing was attached");
  o.stale_removed.push_back(Stale(0));  // unreadable: no pid to name
  o.stale_removed.push_back(Stale(813));
  EXPECT_EQ(RollbackSummary(o),
            "removed 3 stale record(s) (pids 812, 813 gone): nothing was attached");
  o.stale_removed = {Stale(0)};
  EXPECT_EQ(RollbackSummary(o), "removed 1 stale record(s): nothing was attached");
}

TEST(RollbackSummary, WhatWasUndoneIsCounted) {
  RollbackOutcome o;
  o.links_detached = 2;
  o.controllers_stopped = 1;
  EXPECT_EQ(RollbackSummary(o), "rolled back: 2 link(s) detached, 1 controller(s) stopped");
  o = {};
  o.done = {"1 clock_skew record(s) disarmed and removed"};
  o.stale_removed = {Stale(812)};
  EXPECT_EQ(RollbackSummary(o),
            "rolled back: 0 link(s) detached, 0 controller(s) stopped, 1 stale record(s) removed "
            "(pid 812 gone)");
}

}  // namespace
}  // namespace mmchaos
