// The command line's contracts that need no privileges: validate's output and exit codes.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <string>

namespace {

struct Run {
  int rc;
  std::string out;
};

Run Mmchaos(const std::string& args) {
  std::string cmd = std::string(MMCHAOS_BIN) + " " + args + " 2>&1";
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
  int fd = mkstemp(path);
  close(fd);
  std::ofstream(path) << text;
  return path;
}

TEST(Cli, ValidatesTheShippedChaosYaml) {
  auto r = Mmchaos("validate -c " MMCHAOS_SOURCE_DIR "/chaos.yaml");
  EXPECT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("enabled: false"), std::string::npos) << r.out;
}

TEST(Cli, ClampsWithAWarningAndPrintsTheEffectiveValue) {
  auto f = WriteTemp("chaos:\n  net_loss: 1.7\n");
  auto r = Mmchaos("validate -c " + f);
  std::remove(f.c_str());
  EXPECT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("warning"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(":2"), std::string::npos) << "warning names the line: " << r.out;
  EXPECT_NE(r.out.find("net_loss: 1\n"), std::string::npos) << r.out;
}

TEST(Cli, ConfigErrorsExitTwoWithFileAndLine) {
  auto f = WriteTemp("chaos:\n  enabled: true\n  net_los: 0.1\n");
  auto r = Mmchaos("validate -c " + f);
  std::remove(f.c_str());
  EXPECT_EQ(r.rc, 2) << r.out;
  EXPECT_NE(r.out.find(f + ":3"), std::string::npos) << r.out;
}

// exch_429 on a https:// endpoint: accepted, through the TLS preload (installed next to the
// binary), and validate says so; faults.tls_mechanism takes auto or preload only.
TEST(Cli, StatusRewritesOnHttpsGoThroughTheTlsPreload) {
  auto f = WriteTemp(
      "chaos:\n  exch_429: 0.2\ntarget:\n  interfaces: [veth0]\n  exchanges:\n    x:\n"
      "      rest: [\"https://10.0.0.2:8443\"]\nfaults:\n  tls_mechanism: preload\n");
  auto r = Mmchaos("validate -c " + f);
  EXPECT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("status rewrites through the preload"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("SSL_read"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("tls_mechanism: preload"), std::string::npos) << r.out;
  std::ofstream(f) << "faults:\n  tls_mechanism: uprobe\n";
  r = Mmchaos("validate -c " + f);
  std::remove(f.c_str());
  EXPECT_EQ(r.rc, 2) << r.out;
  EXPECT_NE(r.out.find("tls_mechanism"), std::string::npos) << r.out;
}

TEST(Cli, ScenarioWithoutADataPlaneIsRefused) {
  auto f = WriteTemp("chaos:\n  mem_pressure: high\n");
  auto r = Mmchaos("validate -c " + f);
  std::remove(f.c_str());
  EXPECT_EQ(r.rc, 2) << r.out;
  EXPECT_NE(r.out.find("chaos.mem_pressure"), std::string::npos) << r.out;
}

TEST(Cli, ClockSkewNamesItsMechanism) {
  // The preload is forced: the note must say the engine is started through `mmchaos exec`.
  auto f = WriteTemp("chaos:\n  clock_skew_ms: 200\nfaults:\n  clock_skew_mechanism: preload\n");
  auto r = Mmchaos("validate -c " + f);
  std::remove(f.c_str());
  EXPECT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("clock_skew_ms: preload fallback"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("mmchaos exec -c " + f), std::string::npos) << r.out;
}

TEST(Cli, ExchangeFaultsWithoutInterfacesAreRefused) {
  auto f = WriteTemp("chaos:\n  exch_429: 0.2\n");
  auto r = Mmchaos("validate -c " + f);
  std::remove(f.c_str());
  EXPECT_EQ(r.rc, 2) << r.out;
  EXPECT_NE(r.out.find("need target.interfaces"), std::string::npos) << r.out;
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
