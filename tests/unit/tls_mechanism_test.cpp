// faults.tls_mechanism without trying the kernel (validate without --probe-kernel), and the TLS
// REST endpoints both mechanisms match requests' Host headers against.
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "config/config.h"
#include "tls/tls_faults.h"

namespace mmchaos {
namespace {

Config Parse(const std::string& mechanism, const std::string& rest) {
  auto c = ParseConfig(
      "chaos:\n  exch_429: 0.2\ntarget:\n  interfaces: [veth0]\n  exchanges:\n    x:\n"
      "      rest: [" +
          rest + "]\nfaults:\n  tls_mechanism: " + mechanism + "\n",
      "test.yaml");
  EXPECT_TRUE(c.has_value()) << (c ? "" : c.error().message());
  return c ? *c : Config{};
}

TEST(TlsMechanism, UncheckedWithoutProbingTheKernel) {
  auto up = ChooseTlsMechanism(Parse("uprobe", "\"https://10.0.0.2:8443\""), false);
  EXPECT_EQ(up.mechanism, TlsMechanism::kUprobe);
  EXPECT_FALSE(up.checked);
  EXPECT_NE(up.why.find("not checked"), std::string::npos) << up.why;
  auto au = ChooseTlsMechanism(Parse("auto", "\"https://10.0.0.2:8443\""), false);
  EXPECT_FALSE(au.checked);
  EXPECT_NE(au.mechanism, TlsMechanism::kNone);
  EXPECT_TRUE(CheckTls(Parse("uprobe", "\"https://10.0.0.2:8443\""), false).empty());
}

TEST(TlsMechanism, ValuesOutsideTheThreeAreRefused) {
  for (const char* m : {"auto", "uprobe", "preload"}) {
    auto c = ParseConfig(std::string("faults:\n  tls_mechanism: ") + m + "\n", "t.yaml");
    EXPECT_TRUE(c.has_value()) << m;
  }
  auto bad = ParseConfig("faults:\n  tls_mechanism: kprobe\n", "t.yaml");
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message().find("expected auto, uprobe or preload"), std::string::npos)
      << bad.error().message();
}

// The engine's TLS library accounts its https:// requests only where a mechanism runs there for
// a TLS fault: uprobes attached for the accounting alone would stall every new engine process
// and cost each SSL call, distorting a run without a TLS fault (lat_spike's new connections).
TEST(TlsMechanism, NoMechanismForTheAccountingAlone) {
  for (const char* mechanism : {"auto", "uprobe"}) {
    auto c = ParseConfig(std::string("chaos:\n  lat_spike_ms: 100\n  net_loss: 0.1\n"
                                     "target:\n  interfaces: [veth0]\n  exchanges:\n    x:\n"
                                     "      rest: [\"https://10.0.0.2:8443\"]\n"
                                     "faults:\n  tls_mechanism: ") +
                             mechanism + "\n",
                         "test.yaml");
    ASSERT_TRUE(c.has_value()) << c.error().message();
    EXPECT_EQ(TlsAccounting(*c), TlsMechanism::kNone) << mechanism;
  }
}

TEST(TlsMechanism, EndpointsAsRequestsNameThemInHost) {
  auto e = TlsEndpoints(Parse("auto",
                              "\"https://API.Example.TEST\", \"http://10.0.0.3:80\", "
                              "\"https://[fd77::2]:8443\""));
  ASSERT_EQ(e.size(), 2u) << "https:// only";
  EXPECT_STREQ(e[0].host, "api.example.test");
  EXPECT_EQ(e[0].port, 443);
  EXPECT_STREQ(e[1].host, "fd77::2");
  EXPECT_EQ(e[1].port, 8443);
  // NUL padded: the uprobes' hash key is the whole struct.
  for (size_t i = std::strlen(e[0].host); i < sizeof(e[0].host); ++i) EXPECT_EQ(e[0].host[i], 0);
}

}  // namespace
}  // namespace mmchaos
