// Bad input against the real thing: a running controller survives any file a SIGHUP makes it
// read, `rollback` detaches first and then reports whatever damaged records it found, `validate`
// leaves the kernel as it was, and `exec --user` drops root for the engine.
#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <signal.h>
#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "common/fd.h"
#include "harness.h"

namespace mmchaos::testing {
namespace {

using namespace std::chrono_literals;

// A file planted in /run/mmchaos for one test, removed with it.
class Planted {
 public:
  Planted(std::string path, const std::string& text) : path_(std::move(path)) {
    std::filesystem::create_directories(std::filesystem::path(path_).parent_path());
    std::ofstream(path_, std::ios::trunc) << text;
  }
  ~Planted() { std::filesystem::remove(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The id the kernel gave a do-nothing program loaded and unloaded now. Program ids only grow, so
// two of these more than one apart mean something else loaded a program in between (listing
// ids cannot tell: none may be loaded before or after).
uint32_t ProgIdNow() {
  bpf_insn ret0[2]{};  // r0 = 0; exit
  ret0[0].code = BPF_ALU64 | BPF_MOV | BPF_K;
  ret0[0].dst_reg = BPF_REG_0;
  ret0[1].code = BPF_JMP | BPF_EXIT;
  UniqueFd fd(bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, "mmc_test_id", "GPL", ret0, 2, nullptr));
  if (!fd) ADD_FAILURE() << "bpf_prog_load: " << std::strerror(errno);
  bpf_prog_info info{};
  uint32_t len = sizeof(info);
  if (fd && bpf_obj_get_info_by_fd(fd.get(), &info, &len) != 0) ADD_FAILURE() << "prog info";
  return info.id;
}

TEST(BadInput, SighupWithAHostileFileKeepsTheRunningConfig) {
  Cgroup target("target");
  TempDir dir;
  const std::string good = ConfigYaml(target.path(), {.net_loss = 0.1, .dry_run = true},
                                      TestPort(1), dir.path() + "/inj.jsonl");
  const std::string cfg = dir.Write("chaos.yaml", good);
  Controller ctl(cfg);
  ASSERT_TRUE(ctl.WaitFor("attached to", 10s)) << ctl.output();

  std::string bomb = "target:\n  exchanges:\n    x0: {rest: &u [";
  for (int i = 0; i < 5000; ++i) bomb += "\"http://h/\",";
  bomb.back() = ']';
  bomb += "}\n";
  for (int i = 1; i < 1000; ++i) bomb += "    x" + std::to_string(i) + ": {rest: *u}\n";
  const std::pair<const char*, std::function<void()>> cases[] = {
      {"a single comma", [&] { dir.Write("chaos.yaml", ","); }},
      {"an alias bomb", [&] { dir.Write("chaos.yaml", bomb); }},
      {"/dev/zero",
       [&] {
         std::filesystem::remove(cfg);
         std::filesystem::create_symlink("/dev/zero", cfg);
       }},
      {"a FIFO",
       [&] {
         std::filesystem::remove(cfg);
         ASSERT_EQ(::mkfifo(cfg.c_str(), 0600), 0);
       }},
  };
  int rejected = 0;
  for (const auto& [what, plant] : cases) {
    SCOPED_TRACE(what);
    plant();
    ctl.Signal(SIGHUP);
    ++rejected;
    auto until = std::chrono::steady_clock::now() + 10s;
    auto count = [&] {
      const std::string out = ctl.output();
      int n = 0;
      for (size_t p = 0; (p = out.find("new config rejected", p)) != std::string::npos; ++p) ++n;
      return n;
    };
    while (count() < rejected && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(20ms);
    ASSERT_EQ(count(), rejected) << ctl.output();
    EXPECT_FALSE(StatusFor(target.path()).is_null()) << "the controller stopped: " << ctl.output();
  }
  std::filesystem::remove(cfg);
  dir.Write("chaos.yaml", good);
  ctl.Signal(SIGTERM);
  EXPECT_EQ(ctl.Wait(5s), 0) << ctl.output();
}

TEST(BadInput, RollbackDetachesFirstThenReportsDamagedRecords) {
  Cgroup target("target");
  TempDir dir;
  auto cfg = dir.Write("chaos.yaml", ConfigYaml(target.path(), {.net_loss = 0.1, .dry_run = true},
                                                TestPort(1), dir.path() + "/inj.jsonl"));
  Controller ctl(cfg);
  ASSERT_TRUE(ctl.WaitFor("attached to", 10s)) << ctl.output();
  // Ids no cgroup has (cgroup ids are inode numbers, far below these).
  Planted truncated("/run/mmchaos/cgroup-18446744073709551001.state.json",
                    R"({"netns_inode": 4026531840, "netns_path": "/proc/1/ns/n)");
  Planted wrong_type("/run/mmchaos/cgroup-18446744073709551002.state.json",
                     R"({"netns_inode": 1, "netns_path": "", "attach": "tcx", "ifb": "",)"
                     R"( "interfaces": [1]})");
  Planted bad_memory("/run/mmchaos/cgroup-18446744073709551003.state.json",
                     R"({"memory": {"cgroup": 5}})");
  Planted bad_lock("/run/mmchaos/cgroup-18446744073709551004.lock", R"({"pid":"x"})");

  int rc = 0;
  std::string st = Capture(MmchaosBin() + " status --json", &rc);
  EXPECT_EQ(rc, 0) << st;
  auto j = nlohmann::json::parse(st, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << st;
  std::string damaged = j["damaged_records"].dump();
  for (const Planted* p : {&truncated, &wrong_type, &bad_memory})
    EXPECT_NE(damaged.find(p->path()), std::string::npos) << damaged;
  EXPECT_FALSE(StatusFor(target.path()).is_null());

  std::string out = Capture(MmchaosBin() + " rollback 2>&1", &rc);
  EXPECT_EQ(rc, 1) << out;  // something could not be undone: said, not hidden
  EXPECT_NE(out.find(" link(s) detached"), std::string::npos) << out;
  EXPECT_EQ(out.find("rolled back: 0 link(s)"), std::string::npos) << out;
  for (const Planted* p : {&truncated, &wrong_type, &bad_memory})
    EXPECT_NE(out.find("damaged record " + p->path()), std::string::npos) << out;
  EXPECT_EQ(ctl.Wait(5s), 0) << ctl.output();
  EXPECT_TRUE(Status()["attached"].empty()) << Status().dump();
  EXPECT_TRUE(std::filesystem::exists(truncated.path())) << "left for the operator";
  EXPECT_FALSE(std::filesystem::exists(bad_lock.path())) << "a stale lock is removed";
}

TEST(BadInput, ValidateLeavesTheKernelAsItWas) {
  Cgroup target("target");
  TempDir dir;
  auto cfg = dir.Write("chaos.yaml",
                       "chaos:\n  lat_spike_ms: 50\n  clock_skew_ms: 100\n"
                       "target:\n  cgroup: " +
                           target.path() +
                           "\n  interfaces: [eth9]\n  exchanges:\n"
                           "    x: {rest: [\"http://10.9.9.9:80/\"]}\n");
  const uint32_t before = ProgIdNow();
  int rc = 0;
  std::string out = Capture(MmchaosBin() + " validate -c " + cfg + " 2>&1", &rc);
  const uint32_t after = ProgIdNow();
  EXPECT_EQ(after, before + 1) << "validate loaded BPF programs:\n" << out;
  EXPECT_NE(out.find("not checked on this kernel"), std::string::npos) << out;
  // The same config with --probe-kernel tries this kernel, and says so.
  out = Capture(MmchaosBin() + " validate --probe-kernel -c " + cfg + " 2>&1", &rc);
  EXPECT_NE(out.find("--probe-kernel: trying this kernel"), std::string::npos) << out;
  EXPECT_GT(ProgIdNow(), after + 1) << "the probe loaded nothing: this test could not fail";
}

TEST(Exec, RunsTheEngineAsTheGivenUserWithItsGroups) {
  Cgroup target("target");
  TempDir dir;
  auto cfg = dir.Write("chaos.yaml", "target:\n  cgroup: " + target.path() + "\n");
  int rc = 0;
  std::string out = Capture(MmchaosBin() + " exec -c " + cfg + " --user nobody -- id 2>&1", &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("uid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)"),
            std::string::npos)
      << out;
  // Supplementary groups come from the group database; --group replaces the primary one.
  out = Capture(MmchaosBin() + " exec -c " + cfg + " --user nobody --group 4 -- id -g 2>&1", &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(out, "4\n");
  out = Capture(MmchaosBin() + " exec -c " + cfg + " --user no-such-user-x -- id 2>&1", &rc);
  EXPECT_EQ(rc, 125) << out;
  EXPECT_NE(out.find("no such user"), std::string::npos) << out;
  out = Capture(MmchaosBin() + " exec -c " + cfg + " --user 0 -- id 2>&1", &rc);
  EXPECT_EQ(rc, 125) << out;
}

}  // namespace
}  // namespace mmchaos::testing
