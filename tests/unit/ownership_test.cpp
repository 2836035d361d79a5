// Every owner of a kernel object, fd, mapping or placed change is move-only or pinned: a copy
// would undo (close, detach, disarm, restore) twice. Checked at compile time.
#include <gtest/gtest.h>

#include <type_traits>

#include "cgroup/memory.h"
#include "clock/clock_skew.h"
#include "clock/clock_state.h"
#include "clock/clock_uprobe.h"
#include "clock/shared_record.h"
#include "common/fd.h"
#include "controller/mem_path.h"
#include "controller/registry.h"
#include "controller/tc_path.h"
#include "eventlog/eventlog.h"
#include "loader/bpf_link.h"
#include "loader/dataplane.h"
#include "tc/netns.h"
#include "tc/steering.h"
#include "tls/tls_faults.h"
#include "uprobe/coverage.h"
#include "uprobe/process_uprobes.h"

namespace mmchaos {
namespace {

// One type per instantiation, so a failure names the owner that became copyable.
template <typename T>
constexpr bool NotCopyable() {
  static_assert(!std::is_copy_constructible_v<T> && !std::is_copy_assignable_v<T>,
                "an owner must not be copyable");
  return true;
}
template <typename... T>
constexpr bool kNoneCopyable = (NotCopyable<T>() && ...);

static_assert(
    kNoneCopyable<UniqueFd, BpfLink, EventLog, DataPlane, ProcessUprobes, ClockUprobes, ClockState,
                  SharedRecord, ClockSkew, TlsFaults, Steering, TcPath, MemPressurePath,
                  MemorySqueeze, NetnsGuard, ControllerLock, CoverageRecord>);
// Moving is how an owner is handed on.
static_assert(std::is_nothrow_move_constructible_v<UniqueFd> &&
              std::is_nothrow_move_constructible_v<BpfLink>);

TEST(Ownership, OwnersCannotBeCopied) { SUCCEED() << "checked by the static_asserts above"; }

TEST(Ownership, UniqueFdMovesAndCloses) {
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  UniqueFd rd(p[0]);
  {
    UniqueFd wr(p[1]);
    UniqueFd moved = std::move(wr);
    EXPECT_FALSE(wr);
    EXPECT_EQ(moved.get(), p[1]);
  }  // the write end is closed here: the reader sees EOF
  char c;
  EXPECT_EQ(::read(rd.get(), &c, 1), 0);
}

}  // namespace
}  // namespace mmchaos
