// Every rollback path stops injection within 50 ms and leaves nothing attached: SIGTERM,
// chaos.enabled: false + SIGHUP, `mmchaos rollback` from another shell, SIGKILL.
#include <signal.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdlib>

#include "harness.h"
#include "traffic.h"

namespace mmchaos::testing {
namespace {

using namespace std::chrono_literals;

class Rollback : public ::testing::TestWithParam<Path> {};

// 50 ms everywhere. The one exception is `mmchaos rollback` under qemu's TCG emulation
// (MMCHAOS_IN_VM, the qemu lane), where merely starting the process (dynamic linking of its
// libraries, emulated instruction by instruction) takes ~400 ms before it can detach anything;
// the host run holds it to 50 ms.
uint64_t Bound(Path p) {
  bool emulated = std::getenv("MMCHAOS_IN_VM") != nullptr;
  return (p == Path::kRollbackCommand && emulated ? 1000 : 50) * 1000000ULL;
}

TEST_P(Rollback, LossStopsWithin50msAndNothingIsLeft) {
  // "Nothing is left" is this run's: a record another test left behind (seen once in a full host
  // lane: a controller whose netns was already gone) is cleared first, and is that test's fault.
  (void)Sh(MmchaosBin() + " rollback >/dev/null 2>&1");
  Topology topo;
  Cgroup target("target");
  TempDir dir;
  const uint16_t port = TestPort(), mport = TestPort(1);
  const std::string log = dir.path() + "/injections.jsonl";
  auto cfg = dir.Write("chaos.yaml", ConfigYaml(target.path(), {.net_loss = 0.9}, mport, log));
  Controller ctl(cfg);
  ASSERT_TRUE(ctl.WaitFor("attached to", 10s)) << ctl.output();

  constexpr uint32_t n = 2000, gap_us = 1000;  // 2 s of probes, one per ms
  ProbeSink sink(SocketIn(topo.exchange, AF_INET, SOCK_DGRAM), topo.exchange_ip, port, n);
  std::string ip = topo.exchange_ip;
  Child sender(target, topo.engine, [&] { return SendProbes(ip.c_str(), port, n, gap_us); });
  std::this_thread::sleep_for(700ms);

  const uint64_t trigger = MonoNs();
  switch (GetParam()) {
    case Path::kSigterm:
      ctl.Signal(SIGTERM);
      break;
    case Path::kSighupDisabled:
      dir.Write("chaos.yaml",
                ConfigYaml(target.path(), {.net_loss = 0.9, .enabled = false}, mport, log));
      ctl.Signal(SIGHUP);
      break;
    case Path::kRollbackCommand: {
      int rc = 0;
      std::string out = Capture(MmchaosBin() + " rollback", &rc);
      EXPECT_EQ(rc, 0) << out;
      EXPECT_NE(out.find("rolled back"), std::string::npos) << out;
      break;
    }
    case Path::kSigkill:
      ctl.Signal(SIGKILL);
      break;
  }
  EXPECT_EQ(sender.Wait(), 0);
  sink.Drain();

  // net_loss 0.9, not 1.0: the probes that get through stamp the timeline.
  // A lost probe was sent within the window its received neighbours' stamps bound: it was
  // certainly sent before the trigger if the window ends before it, certainly late if the
  // window starts after trigger + bound.
  const auto& rec = sink.records();
  auto windows = SendWindows(rec);
  uint32_t lost_before = 0, lost_late = 0;
  uint64_t last_lost = 0;
  for (uint32_t i = 0; i < n; ++i) {
    if (rec[i].received) continue;
    if (windows[i].hi < trigger) ++lost_before;
    if (windows[i].lo > trigger + Bound(GetParam())) ++lost_late;
    if (windows[i].lo != 0) last_lost = std::max(last_lost, windows[i].lo);
  }
  ASSERT_LT(sink.received(), n) << "no loss at all";
  ASSERT_GT(sink.received(), 0u) << "nothing got through after rollback";
  EXPECT_GT(lost_before, 400u) << "net_loss 0.9 was not injecting before the rollback";
  EXPECT_EQ(lost_late, 0u) << "last loss " << (static_cast<int64_t>(last_lost - trigger) / 1e6)
                           << " ms after the trigger";

  if (GetParam() == Path::kSighupDisabled) {
    EXPECT_TRUE(ctl.WaitFor("detached", 2s)) << ctl.output();
    EXPECT_TRUE(StatusFor(target.path()).is_null()) << Status().dump();
    ctl.Signal(SIGTERM);
  }
  int rc = ctl.Wait(5s);
  if (GetParam() == Path::kSigkill)
    EXPECT_EQ(rc, 128 + SIGKILL);
  else
    EXPECT_EQ(rc, 0) << ctl.output();
  EXPECT_TRUE(Status()["attached"].empty()) << Status().dump();
  // After SIGKILL the dead controller's lock record is all that is left (its links went with
  // it): rollback removes it and says so; after the others there is truly nothing.
  int rrc = 0;
  std::string again = Capture(MmchaosBin() + " rollback", &rrc);
  EXPECT_EQ(rrc, 0) << again;
  const std::string said = GetParam() == Path::kSigkill
                               ? "removed 1 stale record(s) (pid " + std::to_string(ctl.pid()) +
                                     " gone): nothing was attached\n"
                               : "nothing to roll back\n";
  EXPECT_EQ(again, said);
  again = Capture(MmchaosBin() + " rollback", &rrc);
  EXPECT_EQ(rrc, 0) << again;
  EXPECT_EQ(again, "nothing to roll back\n") << "idempotent";
}

INSTANTIATE_TEST_SUITE_P(AllPaths, Rollback, AllPaths(), PathName);

}  // namespace
}  // namespace mmchaos::testing
