// The command line's contracts that need no privileges: validate's output and exit codes.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "common/fd.h"

namespace {

struct Run {
  int rc;
  std::string out;
};

// prefix: shell text before the binary (limits, environment).
Run Mmchaos(const std::string& args, const std::string& prefix = "") {
  std::string cmd = prefix + std::string(MMCHAOS_BIN) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  int st = pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

std::string WriteTemp(const std::string& text) {
  char path[] = "/tmp/mmchaos-cli-XXXXXX";
  mmchaos::UniqueFd fd(mkstemp(path));  // only the name is wanted
  std::ofstream(path) << text;
  return path;
}

// `mmchaos validate` of a config holding yaml (a temporary file, removed after; path names it).
struct Validated {
  int rc;
  std::string out, path;
  bool Says(const std::string& text) const { return out.find(text) != std::string::npos; }
};
Validated Validate(const std::string& yaml) {
  const std::string f = WriteTemp(yaml);
  auto r = Mmchaos("validate -c " + f);
  std::remove(f.c_str());
  return {r.rc, r.out, f};
}

TEST(Cli, ValidatesTheShippedChaosYaml) {
  auto r = Mmchaos("validate -c " MMCHAOS_SOURCE_DIR "/chaos.yaml");
  EXPECT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("enabled: false"), std::string::npos) << r.out;
}

TEST(Cli, ClampsWithAWarningAndPrintsTheEffectiveValue) {
  auto r = Validate("chaos:\n  net_loss: 1.7\n");
  EXPECT_EQ(r.rc, 0) << r.out;
  EXPECT_TRUE(r.Says("warning")) << r.out;
  EXPECT_TRUE(r.Says(":2")) << "warning names the line: " << r.out;
  EXPECT_TRUE(r.Says("net_loss: 1\n")) << r.out;
}

TEST(Cli, ConfigErrorsExitTwoWithFileAndLine) {
  auto r = Validate("chaos:\n  enabled: true\n  net_los: 0.1\n");
  EXPECT_EQ(r.rc, 2) << r.out;
  EXPECT_TRUE(r.Says(r.path + ":3")) << r.out;
}

// exch_429 on a https:// endpoint: accepted, through the TLS preload (installed next to the
// binary), and validate says so; faults.tls_mechanism takes auto, uprobe or preload.
TEST(Cli, StatusRewritesOnHttpsGoThroughTheTlsPreload) {
  const std::string https =
      "chaos:\n  exch_429: 0.2\ntarget:\n  interfaces: [veth0]\n  exchanges:\n    x:\n"
      "      rest: [\"https://10.0.0.2:8443\"]\n";
  auto r = Validate(https + "faults:\n  tls_mechanism: preload\n");
  EXPECT_EQ(r.rc, 0) << r.out;
  EXPECT_TRUE(
      r.Says("status rewrites through the preload of `mmchaos exec`; order requests "
             "chosen by their request line through the preload"))
      << r.out;
  EXPECT_TRUE(r.Says("SSL_read")) << r.out;
  EXPECT_TRUE(r.Says("tls_mechanism: preload")) << r.out;
  r = Validate("faults:\n  tls_mechanism: kprobe\n");
  EXPECT_EQ(r.rc, 2) << r.out;
  EXPECT_TRUE(r.Says("expected auto, uprobe or preload")) << r.out;
  // uprobe is a mechanism; without --probe-kernel validate says it was not checked here.
  r = Validate(https + "faults:\n  tls_mechanism: uprobe\n");
  EXPECT_EQ(r.rc, 0) << r.out;
  EXPECT_TRUE(r.Says("faults.tls_mechanism is uprobe (not checked")) << r.out;
}

TEST(Cli, ScenarioWithoutADataPlaneIsRefused) {
  auto r = Validate("chaos:\n  mem_pressure: high\n");
  EXPECT_EQ(r.rc, 2) << r.out;
  EXPECT_TRUE(r.Says("chaos.mem_pressure")) << r.out;
}

TEST(Cli, ClockSkewNamesItsMechanism) {
  // The preload is forced: the note must say the engine is started through `mmchaos exec`.
  auto r = Validate("chaos:\n  clock_skew_ms: 200\nfaults:\n  clock_skew_mechanism: preload\n");
  EXPECT_EQ(r.rc, 0) << r.out;
  EXPECT_TRUE(r.Says("clock_skew_ms: preload fallback")) << r.out;
  EXPECT_TRUE(r.Says("mmchaos exec -c " + r.path)) << r.out;
}

TEST(Cli, ExchangeFaultsWithoutInterfacesAreRefused) {
  auto r = Validate("chaos:\n  exch_429: 0.2\n");
  EXPECT_EQ(r.rc, 2) << r.out;
  EXPECT_TRUE(r.Says("need target.interfaces")) << r.out;
}

TEST(Cli, HostileConfigFilesExitTwoQuicklyInBoundedMemory) {
  // yaml-cpp 0.7's LoadAll allocated until bad_alloc (rc 134) on a lone ','; /dev/zero was read
  // until memory ran out; a FIFO blocked forever. 1 GiB of address space and 20 s are plenty.
  char fifo[] = "/tmp/mmchaos-cli-fifo-XXXXXX";
  ASSERT_NE(mkdtemp(fifo), nullptr);
  const std::string fifo_path = std::string(fifo) + "/c.yaml";
  ASSERT_EQ(mkfifo(fifo_path.c_str(), 0600), 0);
  auto comma = WriteTemp(",");
  for (const std::string& f :
       {comma, std::string("/dev/zero"), std::string("/dev/urandom"), fifo_path}) {
    SCOPED_TRACE(f);
    auto r = Mmchaos("validate -c " + f, "ulimit -v 1048576; timeout 20 ");
    EXPECT_EQ(r.rc, 2) << r.out;
    EXPECT_NE(r.out.find("mmchaos: error: "), std::string::npos) << r.out;
  }
  std::remove(comma.c_str());
  std::remove(fifo_path.c_str());
  rmdir(fifo);
}

TEST(Cli, ValidateSaysWhatItDidNotProbe) {
  auto r = Validate(
      "chaos: {lat_spike_ms: 50, clock_skew_ms: 10}\ntarget: {interfaces: [eth9], exchanges: "
      "{x: {rest: [\"http://10.9.9.9/\"]}}}\n");
  EXPECT_EQ(r.rc, 0) << r.out;
  EXPECT_TRUE(r.Says("clock_skew_ms: not checked on this kernel")) << r.out;
  EXPECT_TRUE(r.Says("lat_spike_ms/ws_lag_ms: not checked on this kernel")) << r.out;
}

TEST(Cli, StatusReportsDamagedRecordsWithoutCrashing) {
  char dir[] = "/tmp/mmchaos-cli-run-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  chmod(dir, 0755);
  const std::string run = dir;
  std::ofstream(run + "/cgroup-1.lock") << R"({"pid":"x"})";
  std::ofstream(run + "/cgroup-2.state.json") << R"({"interfaces":[1], "netns_inode": 1)";
  std::ofstream(run + "/cgroup-3.state.json") << R"({"netns_inode":"x"})";
  auto r = Mmchaos("status --json", "MMCHAOS_RUN_DIR=" + run + " ");
  EXPECT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find(run + "/cgroup-2.state.json"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(run + "/cgroup-3.state.json"), std::string::npos) << r.out;
  r = Mmchaos("status", "MMCHAOS_RUN_DIR=" + run + " ");
  EXPECT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("damaged record " + run + "/cgroup-3.state.json"), std::string::npos)
      << r.out;
  for (const char* f : {"/cgroup-1.lock", "/cgroup-2.state.json", "/cgroup-3.state.json"})
    std::remove((run + f).c_str());
  rmdir(dir);
}

TEST(Cli, UsageErrorsExitTwo) {
  EXPECT_EQ(Mmchaos("").rc, 2);
  EXPECT_EQ(Mmchaos("run").rc, 2);
  EXPECT_EQ(Mmchaos("run -c x --cgroup /a --pid 1").rc, 2);
  EXPECT_EQ(Mmchaos("frobnicate").rc, 2);
}

TEST(Cli, RunRefusesTheRootCgroup) {
  auto f = WriteTemp("chaos:\n  enabled: true\n");
  auto r = Mmchaos("run -c " + f + " --cgroup /sys/fs/cgroup");
  std::remove(f.c_str());
  EXPECT_EQ(r.rc, 2) << r.out;
  EXPECT_NE(r.out.find("root"), std::string::npos) << r.out;
}

}  // namespace
