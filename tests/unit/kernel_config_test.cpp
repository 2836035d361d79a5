// chaos.yaml -> the record the kernel decides by.
#include "controller/kernel_config.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

namespace mmchaos {
namespace {

TEST(KernelConfig, ProbabilityThresholdsCoverTheEnds) {
  EXPECT_EQ(ProbabilityThreshold(0), 0u);
  EXPECT_EQ(ProbabilityThreshold(-1), 0u);
  EXPECT_EQ(ProbabilityThreshold(1), MMC_P_ONE);
  EXPECT_GT(ProbabilityThreshold(1), 0xffffffffULL) << "1.0 must beat every 32-bit draw";
  EXPECT_EQ(ProbabilityThreshold(0.5), MMC_P_ONE / 2);
  EXPECT_EQ(ProbabilityThreshold(0.3), 1288490189u);
}

TEST(KernelConfig, CarriesScheduleModesAndRollout) {
  Config c;
  c.chaos.enabled = true;
  c.chaos.dry_run = false;
  c.chaos.net_loss = 0.25;
  c.chaos.burst_on_sec = 1.5;
  c.chaos.burst_off_sec = 0;
  c.target.rollout_percent = 10;
  c.log.max_events_per_sec = 7;
  mmc_config k = ToKernelConfig(c, 42, 99);
  EXPECT_EQ(k.epoch_ns, 42u);
  EXPECT_EQ(k.on_ns, 1500000000u);
  EXPECT_EQ(k.off_ns, 0u);
  EXPECT_EQ(k.armed, 1u);
  EXPECT_EQ(k.dry_run, 0u);
  EXPECT_EQ(k.seed, 99u);
  EXPECT_EQ(k.events_per_sec, 7u);
  EXPECT_EQ(k.prob[MMC_SCN_NET_LOSS], MMC_P_ONE / 4);
  EXPECT_EQ(k.rollout_threshold, ProbabilityThreshold(0.1));
}

TEST(KernelConfig, SafeDefaultsAreDisarmedShadow) {
  mmc_config k = ToKernelConfig(Config{}, 0, 0);
  EXPECT_EQ(k.armed, 0u);
  EXPECT_EQ(k.dry_run, 1u);
  for (auto p : k.prob) EXPECT_EQ(p, 0u);
}

TEST(KernelConfig, ScenariosWithoutADataPlaneAreRefusedByName) {
  Config c;
  EXPECT_TRUE(UnsupportedScenarios(c).empty());
  c.chaos.net_loss = 0.5;
  EXPECT_TRUE(UnsupportedScenarios(c).empty());
  c.chaos.clock_skew_ms = 500;  // implemented (uprobes or the preload)
  EXPECT_TRUE(UnsupportedScenarios(c).empty());
  c.chaos.mem_pressure = MemPressure::kHigh;  // implemented: refused only where the kernel lacks it
  EXPECT_TRUE(UnsupportedScenarios(c).empty());
}

TEST(KernelConfig, ClockSkewCarriesItsOffsetAndClocks) {
  Config c;
  c.chaos.clock_skew_ms = -1500;
  c.faults.clock_skew_clocks = {"realtime", "monotonic"};
  mmc_config k = ToKernelConfig(c, 0, 0);
  EXPECT_EQ(k.clock_skew_ns, -1500LL * 1000000LL);
  EXPECT_EQ(k.clock_mask, 3u);
  EXPECT_EQ(k.prob[MMC_SCN_CLOCK_SKEW], MMC_P_ONE);  // every configured read in a burst
  EXPECT_EQ(ToKernelConfig(Config{}, 0, 0).prob[MMC_SCN_CLOCK_SKEW], 0u);
}

TEST(KernelConfig, ExchangeFaultsCarryTheirParameters) {
  Config c;
  c.chaos.exch_429 = 0.5;
  c.chaos.dns_flap = 1;
  c.target.dns_ports = {53, 5353};
  Exchange x;
  x.name = "testnet";
  x.order_requests = {"POST /api/v3/order", "DELETE /api/v3/order"};
  c.target.exchanges = {x};
  mmc_config k = ToKernelConfig(c, 0, 0);
  EXPECT_EQ(k.prob[MMC_SCN_EXCH_429], MMC_P_ONE / 2);
  EXPECT_EQ(k.prob[MMC_SCN_DNS_FLAP], MMC_P_ONE);
  EXPECT_EQ(k.dns_ports[0], htons(53));
  EXPECT_EQ(k.dns_ports[1], htons(5353));
  EXPECT_EQ(k.dns_ports[2], 0);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(k.order_req[0])), "POST /api/v3/order");
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(k.order_req[1])), "DELETE /api/v3/order");
  EXPECT_EQ(k.order_req[2][0], 0);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(k.status_5xx), 3), "503");
  EXPECT_EQ(k.dns_rcode, 2);
  EXPECT_EQ(k.tag_sockets, 1u);
  EXPECT_EQ(ToKernelConfig(Config{}, 0, 0).tag_sockets, 0u);
  c.faults.status_5xx = 502;
  c.faults.dns_answer = "nxdomain";
  k = ToKernelConfig(c, 0, 0);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(k.status_5xx), 3), "502");
  EXPECT_EQ(k.dns_rcode, 3);
  c.faults.dns_answer = "timeout";
  EXPECT_EQ(ToKernelConfig(c, 0, 0).dns_rcode, MMC_DNS_DROP) << "the answer is dropped";
}

// On a https:// endpoint a status rewrite needs the TLS mechanism (the preload library next to
// the binary: this test binary has none beside it, so it is refused with that reason; the CLI
// test validates the same config with the installed layout).
TEST(KernelConfig, RewritesOnTlsOnlyNeedTheTlsMechanism) {
  Config c;
  c.chaos.exch_429 = 0.5;
  c.target.interfaces = {"veth0"};
  Exchange x;
  x.name = "binance";
  Endpoint tls;
  tls.url = "https://api.example";
  tls.tls = true;
  x.rest = {tls};
  c.target.exchanges = {x};
  auto errors = CheckScenarios(c);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("https://"), std::string::npos) << errors[0];
  EXPECT_NE(errors[0].find("libmmchaos-clock.so is not installed"), std::string::npos) << errors[0];
  auto notes = ScenarioNotes(c);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_NE(notes[0].find("TLS"), std::string::npos);
  Endpoint plain;
  plain.url = "http://10.0.0.2:8080";
  c.target.exchanges[0].rest.push_back(plain);
  EXPECT_TRUE(CheckScenarios(c).empty());
}

}  // namespace
}  // namespace mmchaos
