// mem_pressure without a kernel: the level arithmetic, memory.pressure parsing, the memory
// controller checks and the squeeze against a fake cgroup directory, and the state-file record
// that lets rollback restore memory.high after a crash.
#include "cgroup/memory.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cgroup/cgroup.h"
#include "controller/mem_path.h"
#include "controller/registry.h"

namespace mmchaos {
namespace {

constexpr uint64_t kMiB = 1ULL << 20;
constexpr uint64_t kPage = 4096;

TEST(MemPressure, LevelsLowerMemoryHighToAShareOfCurrentUsage) {
  EXPECT_DOUBLE_EQ(MemoryHighFraction(MemPressure::kLow), 0.90);
  EXPECT_DOUBLE_EQ(MemoryHighFraction(MemPressure::kMedium), 0.75);
  EXPECT_DOUBLE_EQ(MemoryHighFraction(MemPressure::kHigh), 0.50);
  EXPECT_EQ(SqueezedMemoryHigh(MemPressure::kLow, 400 * kMiB, kMemoryUnlimited, kPage), 360 * kMiB);
  EXPECT_EQ(SqueezedMemoryHigh(MemPressure::kMedium, 400 * kMiB, kMemoryUnlimited, kPage),
            300 * kMiB);
  EXPECT_EQ(SqueezedMemoryHigh(MemPressure::kHigh, 400 * kMiB, kMemoryUnlimited, kPage),
            200 * kMiB);
  EXPECT_EQ(SqueezedMemoryHigh(MemPressure::kNone, 400 * kMiB, kMemoryUnlimited, kPage),
            std::nullopt);
}

TEST(MemPressure, SqueezeIsPageAlignedFlooredAndNeverRaisesMemoryHigh) {
  auto v = SqueezedMemoryHigh(MemPressure::kLow, 100000001, kMemoryUnlimited, kPage);
  ASSERT_TRUE(v);
  EXPECT_EQ(*v % kPage, 0u);
  EXPECT_LE(*v, 90000001u);
  EXPECT_GT(*v, 90000001u - kPage);
  // Small engines: never below the floor, even where the level asks for less.
  EXPECT_EQ(SqueezedMemoryHigh(MemPressure::kHigh, 40 * kMiB, kMemoryUnlimited, kPage),
            kMemoryHighFloor);
  EXPECT_EQ(SqueezedMemoryHigh(MemPressure::kHigh, 1 * kMiB, kMemoryUnlimited, kPage),
            kMemoryHighFloor);
  // An operator's memory.high already below the squeezed value is left alone.
  EXPECT_EQ(SqueezedMemoryHigh(MemPressure::kMedium, 400 * kMiB, 300 * kMiB, kPage), std::nullopt);
  EXPECT_EQ(SqueezedMemoryHigh(MemPressure::kMedium, 400 * kMiB, 301 * kMiB, kPage), 300 * kMiB);
  EXPECT_EQ(SqueezedMemoryHigh(MemPressure::kHigh, 1 * kMiB, 16 * kMiB, kPage), std::nullopt);
}

TEST(MemPressure, ParsesMemoryValues) {
  EXPECT_EQ(ParseMemoryValue("max\n"), kMemoryUnlimited);
  EXPECT_EQ(ParseMemoryValue("134217728\n"), 134217728u);
  EXPECT_EQ(ParseMemoryValue(""), std::nullopt);
  EXPECT_EQ(ParseMemoryValue("12k"), std::nullopt);
  EXPECT_EQ(ParseMemoryValue("-1"), std::nullopt);
}

TEST(MemPressure, ParsesMemoryPressure) {
  auto p = ParseMemoryPsi(
      "some avg10=12.34 avg60=1.00 avg300=0.20 total=5500000\n"
      "full avg10=3.50 avg60=0.50 avg300=0.10 total=1200000\n");
  ASSERT_TRUE(p);
  EXPECT_DOUBLE_EQ(p->some_avg10, 12.34);
  EXPECT_DOUBLE_EQ(p->full_avg10, 3.50);
  EXPECT_EQ(p->some_total_us, 5500000u);
  EXPECT_EQ(p->full_total_us, 1200000u);
  EXPECT_FALSE(ParseMemoryPsi("some avg10=1.00 avg60=0 avg300=0 total=1\n"));  // no full line
  EXPECT_FALSE(
      ParseMemoryPsi("some avg10=x avg60=0 avg300=0 total=1\n"
                     "full avg10=0 avg60=0 avg300=0 total=1\n"));
  EXPECT_FALSE(ParseMemoryPsi(""));
}

// A directory that looks like cgroupfs to the code under test (plain files).
class FakeCgroups : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/mmchaos-unit-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  }
  void Put(const std::string& rel, const std::string& text) {
    std::filesystem::create_directories(std::filesystem::path(root_ + "/" + rel).parent_path());
    std::ofstream(root_ + "/" + rel) << text;
  }
  std::string Get(const std::string& rel) {
    std::ifstream in(root_ + "/" + rel);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  std::string root_;
};

TEST_F(FakeCgroups, ControllerChecksSayWhyAndWhatToDo) {
  Put("cgroup.controllers", "cpuset cpu io hugetlb pids\n");  // hybrid host: no memory
  std::string why = MemoryControllerProblem(root_, "");
  EXPECT_NE(why.find("has no memory controller"), std::string::npos) << why;
  EXPECT_NE(why.find("chaos.mem_pressure: none"), std::string::npos) << why;

  Put("cgroup.controllers", "cpu io memory pids\n");
  EXPECT_EQ(MemoryControllerProblem(root_, ""), "");
  Put("apps/cgroup.subtree_control", "cpu pids\n");
  Put("apps/engine/cgroup.procs", "");
  why = MemoryControllerProblem(root_, root_ + "/apps/engine");
  EXPECT_NE(why.find("not enabled for " + root_ + "/apps/engine"), std::string::npos) << why;
  EXPECT_NE(why.find("echo +memory > " + root_ + "/apps/cgroup.subtree_control"), std::string::npos)
      << why;

  Put("apps/cgroup.subtree_control", "cpu memory pids\n");
  Put("apps/engine/memory.high", "max\n");
  EXPECT_EQ(MemoryControllerProblem(root_, root_ + "/apps/engine"), "");
  // A target that does not exist yet is checked again by `run` once resolved.
  EXPECT_EQ(MemoryControllerProblem(root_, root_ + "/apps/later"), "");
}

TEST_F(FakeCgroups, SqueezeRecordsFirstThenWritesAndRestoresExactly) {
  Put("engine/memory.high", "1073741824\n");
  Put("engine/memory.current", "209715200\n");
  const std::string cg = root_ + "/engine";
  auto id = CgroupId(cg);
  ASSERT_TRUE(id);
  std::vector<MemoryHighRecord> recorded;
  std::vector<std::string> forgotten;
  {
    auto sq = MemorySqueeze::Apply(
        cg, *id, MemPressure::kHigh,
        [&](const MemoryHighRecord& r) -> Result<void> {
          EXPECT_EQ(Get("engine/memory.high"), "1073741824\n") << "recorded after the write";
          recorded.push_back(r);
          return {};
        },
        [&](const Result<std::string>& r) { forgotten.push_back(r ? *r : r.error().message()); });
    ASSERT_TRUE(sq) << sq.error().message();
    ASSERT_TRUE(*sq);
    ASSERT_EQ(recorded.size(), 1u);
    EXPECT_EQ(recorded[0].original, "1073741824");
    EXPECT_EQ(recorded[0].applied, "104857600");  // half of 200 MiB
    EXPECT_EQ(recorded[0].cgroup_id, *id);
    EXPECT_EQ(Get("engine/memory.high"), "104857600");
    EXPECT_TRUE(forgotten.empty());
  }
  EXPECT_EQ(Get("engine/memory.high"), "1073741824");
  ASSERT_EQ(forgotten.size(), 1u);
  EXPECT_NE(forgotten[0].find("restored to 1073741824"), std::string::npos) << forgotten[0];
}

TEST_F(FakeCgroups, RecordFailureWritesNothing) {
  Put("engine/memory.high", "max\n");
  Put("engine/memory.current", "209715200\n");
  auto sq = MemorySqueeze::Apply(
      root_ + "/engine", 1, MemPressure::kLow,
      [](const MemoryHighRecord&) -> Result<void> { return Fail("write(state)", ENOSPC); },
      [](const Result<std::string>&) {});
  EXPECT_FALSE(sq);
  EXPECT_EQ(Get("engine/memory.high"), "max\n");
}

TEST_F(FakeCgroups, RestoreLeavesSomeoneElsesValueAndGoneCgroupsAlone) {
  Put("engine/memory.high", "555");
  const std::string cg = root_ + "/engine";
  auto id = CgroupId(cg);
  ASSERT_TRUE(id);
  auto r = RestoreMemoryHigh({*id, cg, "max", "104857600"});
  ASSERT_TRUE(r);
  EXPECT_NE(r->find("someone changed it"), std::string::npos) << *r;
  EXPECT_EQ(Get("engine/memory.high"), "555");
  r = RestoreMemoryHigh({*id + 1, cg, "max", "555"});  // same path, another cgroup
  ASSERT_TRUE(r);
  EXPECT_NE(r->find("is gone"), std::string::npos) << *r;
  EXPECT_EQ(Get("engine/memory.high"), "555");
  r = RestoreMemoryHigh({*id, cg, "max", "555"});
  ASSERT_TRUE(r);
  EXPECT_EQ(Get("engine/memory.high"), "max");
}

// `mmchaos rollback` races the controller it stops: whoever restores first, the report names
// every cgroup that was lowered when it began, by its state afterwards.
TEST_F(FakeCgroups, RollbackReportNamesEveryLoweredCgroupWhoeverRestoredIt) {
  Put("a/memory.high", "max");   // its controller restored it and removed its record first
  Put("b/memory.high", "1000");  // the controller removed the record without restoring
  Put("c/memory.high", "2000");  // rollback's own attempt said why it left it
  const std::string a = root_ + "/a", b = root_ + "/b", c = root_ + "/c";
  auto ia = CgroupId(a), ib = CgroupId(b), ic = CgroupId(c);
  ASSERT_TRUE(ia && ib && ic);
  std::vector<MemoryHighRecord> before{{*ia, a, "max", "1000"}, {*ib, b, "max", "1000"}};
  std::vector<MemoryRestore> attempts{{{*ic, c, "max", "1000"}, "c: someone changed it"}};
  auto lines = DescribeMemoryRollback(before, attempts);
  ASSERT_EQ(lines.size(), 3u);
  std::string all;
  for (const auto& l : lines) all += l + "\n";
  EXPECT_NE(all.find("memory.high of " + a + " restored to max"), std::string::npos) << all;
  EXPECT_NE(all.find("memory.high of " + b + " was not restored to max"), std::string::npos) << all;
  EXPECT_NE(all.find("c: someone changed it"), std::string::npos) << all;
  // A record read again by the attempt is one line, and the state decides it.
  lines = DescribeMemoryRollback(before, {{before[0], "memory.high of " + a + " is max"}});
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(std::count(lines.begin(), lines.end(), "memory.high of " + a + " restored to max"), 1);
}

TEST_F(FakeCgroups, StateFileKeepsTheMemoryAndSteeringPartsApart) {
  ASSERT_EQ(setenv("MMCHAOS_RUN_DIR", (root_ + "/run").c_str(), 1), 0);
  EXPECT_EQ(RunDir(), root_ + "/run");
  MemoryHighRecord m{4242, "/sys/fs/cgroup/engine", "max", "104857600"};
  ASSERT_TRUE(WriteMemoryRecord(m));
  auto got = ReadMemoryRecords();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].cgroup_id, m.cgroup_id);
  EXPECT_EQ(got[0].cgroup, m.cgroup);
  EXPECT_EQ(got[0].original, m.original);
  EXPECT_EQ(got[0].applied, m.applied);
  EXPECT_TRUE(ReadStates().empty()) << "a memory-only record has no steering part";

  PlacedState st;
  st.cgroup_id = 4242;
  st.steering.netns_inode = 77;
  st.steering.ifb = "mmcifb1";
  ASSERT_TRUE(WriteState(st));
  ASSERT_EQ(ReadStates().size(), 1u);
  EXPECT_EQ(ReadMemoryRecords().size(), 1u) << "writing the steering part kept the memory part";
  RemoveState(4242);
  EXPECT_TRUE(ReadStates().empty());
  ASSERT_EQ(ReadMemoryRecords().size(), 1u) << "removing the steering part kept the memory part";
  RemoveMemoryRecord(4242);
  EXPECT_TRUE(ReadMemoryRecords().empty());
  EXPECT_FALSE(std::filesystem::exists(root_ + "/run/cgroup-4242.state.json"));
  unsetenv("MMCHAOS_RUN_DIR");
}

}  // namespace
}  // namespace mmchaos
