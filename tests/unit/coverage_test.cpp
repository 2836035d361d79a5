// The coverage records `mmchaos exec` waits on (uprobe/coverage.h): written and removed by their
// owner, read only while the cgroup's controller is alive, a recycled pid not taken for the old
// process, and a killed controller's records removed by rollback and by the next run.
#include "uprobe/coverage.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "controller/registry.h"
#include "run_dir_fixture.h"

namespace mmchaos {
namespace {

using namespace std::chrono_literals;

constexpr uint64_t kCgroup = 77;

class CoverageTest : public PrivateRunDir {
 protected:
  // The cgroup's controller, alive while the lock is held (here, by this process).
  std::optional<ControllerLock> Alive() {
    auto l = ControllerLock::Acquire({getpid(), kCgroup, "/sys/fs/cgroup/e", "c.yaml", 1});
    EXPECT_TRUE(l.has_value());
    if (!l) return std::nullopt;
    return std::move(*l);
  }
  std::string Path(const std::string& label) const {
    return run_ + "/cgroup-" + std::to_string(kCgroup) + ".covered-" + label;
  }
  static std::string Read(const std::string& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  const CoveredProcess self_{getpid(), ProcessStartTime(getpid())};
};

TEST_F(CoverageTest, TheStartTimeIsThisProcesssAndZeroForNone) {
  EXPECT_GT(self_.start_time, 0u);
  EXPECT_EQ(ProcessStartTime(0x3fffffff), 0u);
}

// The controller reads the start time of every process of the target, each loop tick, and
// processes come and go meanwhile: one reaped between the file's open and its read (read fails
// with ESRCH) is a process that is gone, 0, not an exception that ends the run (it did, in CI).
TEST_F(CoverageTest, AProcessReapedWhileItsStartTimeIsReadIsGone) {
  std::atomic<pid_t> latest{0};
  std::atomic<bool> stop{false};
  std::thread churn([&] {
    while (!stop) {
      pid_t c = fork();
      if (c == 0) _exit(0);
      if (c < 0) continue;
      latest = c;
      int st = 0;
      usleep(static_cast<useconds_t>(c % 50));  // reaped at a varying point of the reader's read
      waitpid(c, &st, 0);
    }
  });
  const auto until = std::chrono::steady_clock::now() + 2s;
  size_t reads = 0, threw = 0;
  std::string what;
  while (std::chrono::steady_clock::now() < until) {
    const pid_t pid = latest;
    if (pid == 0) continue;
    try {
      ProcessStartTime(pid);
    } catch (const std::exception& e) {
      ++threw;
      what = e.what();
    }
    ++reads;
  }
  stop = true;
  churn.join();
  EXPECT_GT(reads, 1000u);
  EXPECT_EQ(threw, 0u) << "of " << reads << " reads; the last: " << what;
}

TEST_F(CoverageTest, ExecWaitsUntilEveryLabelListsItsProcess) {
  auto lock = Alive();
  CoverageRecord clock(kCgroup, "clock_skew"), tls(kCgroup, "tls");
  ASSERT_TRUE(clock.Publish({{1, 5}}).has_value());
  ASSERT_TRUE(tls.Publish({}).has_value());
  EXPECT_EQ(Read(Path("clock_skew")), "1 5\n");
  EXPECT_EQ(WaitCovered(kCgroup, self_, 30ms), (std::vector<std::string>{"clock_skew", "tls"}));
  ASSERT_TRUE(clock.Publish({{1, 5}, self_}).has_value());
  EXPECT_EQ(WaitCovered(kCgroup, self_, 30ms), std::vector<std::string>{"tls"});
  ASSERT_TRUE(tls.Publish({self_}).has_value());
  EXPECT_TRUE(WaitCovered(kCgroup, self_, 30ms).empty());
  // Another cgroup's controller covers nothing of this one's.
  EXPECT_TRUE(WaitCovered(kCgroup + 1, self_, 30ms).empty());
}

TEST_F(CoverageTest, ARecycledPidIsNotTheProcessTheRecordCovers) {
  auto lock = Alive();
  CoverageRecord clock(kCgroup, "clock_skew");
  ASSERT_TRUE(clock.Publish({{self_.pid, self_.start_time + 1}}).has_value());
  EXPECT_EQ(WaitCovered(kCgroup, self_, 30ms), std::vector<std::string>{"clock_skew"});
}

TEST_F(CoverageTest, TheRecordGoesWithItsOwnerAndExecStopsWaiting) {
  auto lock = Alive();
  {
    CoverageRecord clock(kCgroup, "clock_skew");
    ASSERT_TRUE(clock.Publish({}).has_value());
    EXPECT_TRUE(std::filesystem::exists(Path("clock_skew")));
  }
  EXPECT_FALSE(std::filesystem::exists(Path("clock_skew")));
  EXPECT_TRUE(WaitCovered(kCgroup, self_, 30ms).empty());
}

// A killed controller's record stays: no one waits on it, rollback and the next run remove it.
TEST_F(CoverageTest, AKilledControllersRecordsAreStale) {
  Put("cgroup-77.covered-clock_skew", "1 5\n");
  Put("cgroup-77.covered-tls", "1 5\n");
  Put("cgroup-78.covered-tls", "1 5\n");
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(WaitCovered(kCgroup, self_, 5s).empty()) << "no live controller: nothing to wait";
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  {
    auto lock = Alive();
    EXPECT_EQ(RemoveStaleCoverage(), 1) << "only cgroup 78's: 77's controller is alive";
    RemoveCoverage(kCgroup);  // what the next run on 77 does once it holds the lock
    EXPECT_FALSE(std::filesystem::exists(Path("clock_skew")));
    EXPECT_FALSE(std::filesystem::exists(Path("tls")));
    EXPECT_TRUE(WaitCovered(kCgroup, self_, 30ms).empty());
  }
  Put("cgroup-77.covered-tls", "1 5\n");
  EXPECT_EQ(RemoveStaleCoverage(), 1) << "77's controller is gone now";
  EXPECT_FALSE(std::filesystem::exists(Path("tls")));
}

}  // namespace
}  // namespace mmchaos
