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

// Each delay: its netem class, its drain class and how long a flow may still have a packet in
// the netem after its last delayed one (the delay, the jitter's reach, 1 ms); none without it.
TEST(KernelConfig, DelaysCarryTheirClassesAndHoldTimes) {
  Config c;
  c.chaos.lat_spike_ms = 100;
  mmc_config none = ToKernelConfig(c, 0, 0);
  EXPECT_EQ(none.egress_class, 0x10010u);
  EXPECT_EQ(none.egress_drain_class, 0x10011u);
  EXPECT_EQ(none.lat_spike_hold_ns, 101000000u);
  EXPECT_EQ(none.ingress_class, 0u);
  EXPECT_EQ(none.ingress_drain_class, 0u);
  EXPECT_EQ(none.ws_lag_hold_ns, 0u);
  c.chaos.ws_lag_ms = 200;
  mmc_config k = ToKernelConfig(c, 0, 0);
  EXPECT_EQ(k.prob[MMC_SCN_WS_LAG], MMC_P_ONE);
  EXPECT_EQ(k.ingress_class, 0x10020u);
  EXPECT_EQ(k.ingress_drain_class, 0x10021u);
  EXPECT_EQ(k.ws_lag_hold_ns, 201000000u);
  c.netem.jitter_ms = 10;
  EXPECT_EQ(ToKernelConfig(c, 0, 0).ws_lag_hold_ns, 211000000u) << "uniform: +-jitter";
  c.netem.distribution = NetemDistribution::kNormal;
  EXPECT_EQ(ToKernelConfig(c, 0, 0).ws_lag_hold_ns, 241000000u) << "a table's tail: 4x jitter";
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

namespace mmchaos {
namespace {

bool Names(const std::vector<std::string>& msgs, const std::string& what) {
  for (const auto& m : msgs)
    if (m.find(what) != std::string::npos) return true;
  return false;
}

Exchange WithOrders(const std::string& name, std::vector<std::string> orders) {
  Exchange x;
  x.name = name;
  x.order_requests = std::move(orders);
  return x;
}

// Every fixed table of the data plane is checked: at the limit a config passes, one over it is
// refused with the limit named (nothing cut or folded silently).
TEST(DataPlaneLimits, AtTheLimitPassesOneOverIsRefusedWithTheLimitNamed) {
  Config c;
  c.target.dns_ports = {53, 54, 55, 56, 57, 58, 59, 60};
  for (int i = 0; i < MMC_MAX_EXCHANGES; ++i)
    c.target.exchanges.push_back(WithOrders("x" + std::to_string(i), {}));
  c.target.exchanges[0].order_requests = {"POST /a", "POST /b", "DELETE /c",
                                          std::string("POST /") + std::string(25, 'p')};
  for (int i = 0; i < MMC_MAX_IFACES; ++i)
    c.target.interfaces.push_back(std::string("e").append(std::to_string(i)));
  EXPECT_TRUE(DataPlaneLimits(c).empty());

  Config d = c;
  d.target.dns_ports.push_back(61);
  auto m = DataPlaneLimits(d);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_TRUE(Names(m, "target.dns_ports lists 9 ports; the data plane matches at most 8")) << m[0];
  EXPECT_TRUE(Names(CheckScenarios(d), "at most 8")) << "validation refuses it";

  d = c;
  d.target.exchanges.push_back(WithOrders("x8", {}));
  m = DataPlaneLimits(d);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_TRUE(Names(m, "9 exchanges; the data plane keeps statistics for at most 8")) << m[0];

  d = c;
  d.target.exchanges[1].order_requests = {"PUT /e"};  // a fifth, on another exchange
  m = DataPlaneLimits(d);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_TRUE(
      Names(m, "lists 5 request lines over all exchanges; the data plane matches at most 4"))
      << m[0];

  d = c;
  d.target.exchanges[0].order_requests[3] += "p";  // 32 bytes
  m = DataPlaneLimits(d);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_TRUE(Names(m, "target.exchanges.x0.order_requests: 'POST /pppp")) << m[0];
  EXPECT_TRUE(Names(m, "is 32 bytes; the data plane matches request lines of at most 31")) << m[0];

  d = c;
  d.target.interfaces.push_back("e64");
  m = DataPlaneLimits(d);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_TRUE(Names(m, "65 interfaces; the data plane steers at most 64")) << m[0];
}

// What passes the limits reaches the kernel config whole.
TEST(DataPlaneLimits, EverythingWithinTheLimitsReachesTheKernelConfig) {
  Config c;
  c.target.dns_ports = {53, 54, 55, 56, 57, 58, 59, 60};
  const std::string longest = std::string("POST /") + std::string(25, 'p');
  c.target.exchanges = {WithOrders("a", {"POST /a", "POST /b"}),
                        WithOrders("b", {"PUT /c", longest})};
  mmc_config k = ToKernelConfig(c, 0, 0);
  EXPECT_EQ(ntohs(k.dns_ports[7]), 60);
  EXPECT_STREQ(reinterpret_cast<const char*>(k.order_req[2]), "PUT /c");
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(k.order_req[3]), 31), longest);
  EXPECT_EQ(k.order_req[3][31], 0);
}

}  // namespace
}  // namespace mmchaos

namespace mmchaos {
namespace {

// A WebSocket URL on a REST URL's host:port would be classified REST by the data plane (its
// 101 rewritable, no WS faults): refused, naming both.
TEST(KernelConfig, WebSocketSharingARestHostPortIsRefused) {
  Config c;
  Exchange x;
  x.name = "gw";
  Endpoint rest, ws;
  rest.url = "http://10.0.0.2:8080", rest.scheme = "http", rest.host = "10.0.0.2", rest.port = 8080;
  ws.url = "ws://10.0.0.2:8080/stream", ws.scheme = "ws", ws.host = "10.0.0.2", ws.port = 8080;
  x.rest = {rest};
  x.ws = {ws};
  c.target.exchanges = {x};
  bool named = false;
  for (const auto& m : CheckScenarios(c))
    named |= m.find(
                 "ws ws://10.0.0.2:8080/stream is on the same host:port as "
                 "target.exchanges.gw.rest http://10.0.0.2:8080") != std::string::npos;
  EXPECT_TRUE(named);
  c.target.exchanges[0].ws[0].port = 8081;
  for (const auto& m : CheckScenarios(c))
    EXPECT_EQ(m.find("same host:port"), std::string::npos) << m;
}

}  // namespace
}  // namespace mmchaos
