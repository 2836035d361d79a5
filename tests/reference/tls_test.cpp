// The reference target over TLS, as real exchanges speak it: mock-exchange serves HTTPS and WSS
// with a certificate from a throwaway CA (scripts/make-pki.sh), ref-engine verifies it against
// that CA and trades as over plaintext; third-party clients (curl, python's ssl and websockets)
// see a proper TLS server; an engine that does not trust the CA gets nothing through.
#include <stdio.h>

#include <array>
#include <string>

#include "harness.h"

namespace reftest {
namespace {

std::string run(const std::string& cmd, int* rc) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  *rc = ::pclose(p);
  return out;
}

class ReferenceTls : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(make_pki(dir_));
    ex_ =
        start_exchange(dir_, {"--tick-ms", "20", "--rate", "1000", "--burst", "1000", "--tls-cert",
                              dir_.file("server.pem"), "--tls-key", dir_.file("server.key")});
    ASSERT_TRUE(ex_.proc);
    ASSERT_TRUE(ex_.tls);
  }
  std::string rest() const { return "https://localhost:" + std::to_string(ex_.rest_port); }

  TempDir dir_;
  ExchangeProc ex_;
};

TEST_F(ReferenceTls, EngineTradesAndStreamsOverVerifiedTls) {
  EngineProc en = start_engine(dir_, ex_,
                               {"--ca-file", dir_.file("ca.pem"), "--tick-ms", "50",
                                "--deadline-ms", "1000", "--reconcile-every-ticks", "5"},
                               "localhost");
  ASSERT_TRUE(en.proc);
  sleep_ms(2000);
  auto stats = stop_engine(en);
  ASSERT_TRUE(stats.is_object()) << read_file(en.stderr_path);
  EXPECT_GE(requests(stats, "place", "200"), 5u) << stats.dump();
  EXPECT_EQ(requests_with_code(stats, "error") + requests_with_code(stats, "timeout"), 0u)
      << stats.dump() << read_file(en.stderr_path);
  EXPECT_EQ(stats["reconnect_attempts"]["rest"], 0) << "one keep-alive TLS connection";
  EXPECT_GE(stats["ws"]["messages"].get<uint64_t>(), 40u) << stats.dump();
  EXPECT_EQ(stats["ws"]["seq_gaps"], 0);
  EXPECT_GE(stats["reconcile"]["runs"].get<uint64_t>(), 2u);
  EXPECT_EQ(stats["reconcile"]["discrepancies"]["missing_on_engine"], 0);
  EXPECT_EQ(stats["reconcile"]["discrepancies"]["missing_on_exchange"], 0);
  ex_.proc->stop(SIGTERM, std::chrono::milliseconds(2000));
  EXPECT_EQ(count_op(read_json_lines(ex_.order_log), "place"), requests(stats, "place", "200"));
}

TEST_F(ReferenceTls, EngineRefusesAnExchangeItCannotVerify) {
  // The system's store does not know the throwaway CA: no request, no market data.
  EngineProc en = start_engine(dir_, ex_, {"--tick-ms", "50"}, "localhost");
  ASSERT_TRUE(en.proc);
  sleep_ms(1000);
  auto stats = stop_engine(en);
  ASSERT_TRUE(stats.is_object()) << read_file(en.stderr_path);
  EXPECT_EQ(requests_with_code(stats, "200"), 0u) << stats.dump();
  EXPECT_GT(requests_with_code(stats, "error"), 0u) << stats.dump();
  EXPECT_EQ(stats["ws"]["messages"], 0);
  EXPECT_NE(read_file(en.stderr_path).find("certificate verify failed"), std::string::npos)
      << read_file(en.stderr_path);
}

TEST_F(ReferenceTls, ThirdPartyClientsSeeAProperTlsServer) {
  int rc = -1;
  std::string out = run(
      "curl -sS --noproxy '*' --cacert " + dir_.file("ca.pem") + " " + rest() + "/api/v3/time 2>&1",
      &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("serverTime"), std::string::npos) << out;
  // Plaintext on the TLS port is not HTTP.
  out = run("curl -sS --noproxy '*' -m 3 http://localhost:" + std::to_string(ex_.rest_port) +
                "/api/v3/time 2>&1",
            &rc);
  EXPECT_NE(rc, 0) << out;
  // Debian's python3 with its ssl module and python3-websockets, verifying against the CA.
  const std::string py =
      "import asyncio, json, ssl, websockets\n"
      "async def main():\n"
      "    ctx = ssl.create_default_context(cafile='" +
      dir_.file("ca.pem") +
      "')\n"
      "    async with websockets.connect('wss://localhost:" +
      std::to_string(ex_.ws_port) +
      "/ws', ssl=ctx) as ws:\n"
      "        print(json.loads(await ws.recv())['seq'])\n"
      "asyncio.run(main())\n";
  std::string script = dir_.file("wss.py");
  FILE* f = fopen(script.c_str(), "w");
  ASSERT_NE(f, nullptr);
  fputs(py.c_str(), f);
  fclose(f);
  out = run("timeout 10 /usr/bin/python3 " + script + " 2>&1", &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(out, "1\n");
}

}  // namespace
}  // namespace reftest
