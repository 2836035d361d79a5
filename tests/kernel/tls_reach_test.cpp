// An engine whose TLS neither mechanism reaches is refused, not run silently: both the uprobes
// and the preload act on a dynamically linked OpenSSL (libssl.so.3), so an engine with its TLS
// stack built in (here OpenSSL linked statically, as Go's crypto/tls, rustls or a static
// BoringSSL would be) would have every response pass unrewritten while the run looked healthy.
// `validate` and `run` refuse it and name the process and the reason; with another process of the
// engine that maps libssl.so the run goes on and the note names the one out of reach. No BPF: the
// host lane and lane-vm61 run them.
#include <chrono>
#include <filesystem>
#include <thread>

#include "harness.h"
#include "tls/static_tls.h"

namespace mmchaos::testing {
namespace {

using namespace std::chrono_literals;

// cmd as the process that joined cg (exec), once it wrote ready.
std::unique_ptr<Process> StartIn(const Cgroup& cg, const std::string& cmd,
                                 const std::string& ready) {
  auto p = std::make_unique<Process>("echo $$ > " + cg.path() + "/cgroup.procs && exec " + cmd);
  for (auto until = std::chrono::steady_clock::now() + 30s;
       !std::filesystem::exists(ready) && std::chrono::steady_clock::now() < until;)
    std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(std::filesystem::exists(ready)) << cmd;
  return p;
}

const char kRefused[] = "the engine's TLS is out of reach of both mechanisms";

TEST(TlsReach, BuiltInTlsIsToldFromTheDynamicLibrary) {
  EXPECT_EQ(BuiltInTls(STATIC_TLS_ENGINE_BIN), "OpenSSL or BoringSSL linked statically");
  EXPECT_EQ(BuiltInTls(SSL_READ_COST_BIN), "") << "dynamically linked to libssl.so.3";
  EXPECT_EQ(BuiltInTls("/usr/bin/python3"), "");
  EXPECT_EQ(BuiltInTls("/nonexistent"), "");
  // A Go program on this host (the container tests' buildah): crypto/tls in its function table.
  if (std::filesystem::exists("/usr/bin/buildah")) {
    EXPECT_EQ(BuiltInTls("/usr/bin/buildah"), "Go's crypto/tls");
  }
}

TEST(TlsReach, AnEngineWithStaticTlsIsRefusedWithTheReason) {
  Cgroup target("target");
  TempDir dir;
  auto engine = StartIn(target, std::string(STATIC_TLS_ENGINE_BIN) + " " + dir.path() + "/ready",
                        dir.path() + "/ready");
  for (const std::string mechanism : {"uprobe", "auto", "preload"}) {
    SCOPED_TRACE(mechanism);
    int rc = 0;
    std::string out = Capture(
        MmchaosBin() + " validate -c " + TlsRewriteYaml(dir, target, mechanism) + " 2>&1", &rc);
    EXPECT_EQ(rc, 2) << out;
    EXPECT_NE(out.find(kRefused), std::string::npos) << out;
    EXPECT_NE(out.find("(static-tls-engi): OpenSSL or BoringSSL linked statically built into " +
                       std::string(STATIC_TLS_ENGINE_BIN) + ", and no libssl.so mapped"),
              std::string::npos)
        << out;
  }
  // `run` refuses it too, before attaching anything.
  int rc = 0;
  std::string run = Capture(
      "timeout 60 " + MmchaosBin() + " run -c " + TlsRewriteYaml(dir, target, "auto") + " 2>&1",
      &rc);
  EXPECT_EQ(rc, 2) << run;
  EXPECT_NE(run.find(kRefused), std::string::npos) << run;
}

// A process of the engine that maps libssl.so is reached: the run goes on, and the note names
// the process whose TLS is not.
TEST(TlsReach, WithAProcessOnLibsslTheNoteNamesTheOneOutOfReach) {
  Cgroup target("target");
  TempDir dir;
  auto engine = StartIn(target, std::string(STATIC_TLS_ENGINE_BIN) + " " + dir.path() + "/ready",
                        dir.path() + "/ready");
  auto python = StartIn(target,
                        "/usr/bin/python3 -c \"import ssl, time; open('" + dir.path() +
                            "/ready2', 'w'); time.sleep(600)\"",
                        dir.path() + "/ready2");
  int rc = 0;
  std::string out = Capture(
      MmchaosBin() + " validate --probe-kernel -c " + TlsRewriteYaml(dir, target, "auto") + " 2>&1",
      &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(out.find(kRefused), std::string::npos) << out;
  EXPECT_NE(out.find("out of reach (their responses are not rewritten): pid "), std::string::npos)
      << out;
  EXPECT_NE(out.find("libssl.so.3 (OpenSSL)"), std::string::npos) << out;
}

}  // namespace
}  // namespace mmchaos::testing
