// The project's reference pair for end-to-end tests: the mock exchange (reference/exchange) in
// the exchange namespace, serving REST and WebSocket and logging every order, and the cgroup the
// reference engine runs in. Each test starts the engine with its own flags. With tls, the
// exchange serves HTTPS and WSS with a throwaway certificate (scripts/make-pki.sh) and the
// engine verifies it against that CA.
#pragma once

#include <memory>
#include <sstream>
#include <string>

#include "harness.h"

namespace mmchaos::testing {

struct ReferenceScene {
  Topology topo;
  Cgroup target{"engine"};
  TempDir dir;
  uint16_t rest = TestPort(11), ws = TestPort(12);
  bool tls = false;
  std::unique_ptr<Process> exchange;

  explicit ReferenceScene(bool with_tls = false) : tls(with_tls) {
    std::string tls_args;
    if (tls) {
      EXPECT_EQ(Sh(std::string(MAKE_PKI_SH) + " " + dir.path() + "/pki " + topo.exchange_ip +
                   " >/dev/null 2>&1"),
                0);
      tls_args = " --tls-cert " + dir.path() + "/pki/server.pem --tls-key " + dir.path() +
                 "/pki/server.key";
    }
    exchange = std::make_unique<Process>(
        std::string(REF_EXCHANGE_BIN) + " --listen " + topo.exchange_ip + " --rest-port " +
            std::to_string(rest) + " --ws-port " + std::to_string(ws) + " --rate 0 --order-log " +
            dir.path() + "/orders.jsonl" + tls_args,
        topo.exchange);
    WaitListening(topo.exchange, {rest, ws});
  }

  // The config's target: section for the engine's cgroup and namespace, the mock exchange named
  // "mock" (order placements are its order requests). More target keys may follow it.
  std::string TargetYaml() const {
    std::ostringstream y;
    y << "target:\n  cgroup: " << target.path() << "\n  netns: " << topo.engine.path() << "\n"
      << "  interfaces: [" << topo.engine_if << "]\n"
      << "  exchanges:\n    mock:\n"
      << "      rest: [\"" << (tls ? "https" : "http") << "://" << topo.exchange_ip << ":" << rest
      << "\"]\n"
      << "      ws: [\"" << (tls ? "wss" : "ws") << "://" << topo.exchange_ip << ":" << ws
      << "\"]\n"
      << "      order_requests: [\"POST /api/v3/order\"]\n";
    return y.str();
  }

  // The reference engine against the mock exchange, with flags, for a Process in target.
  std::string EngineCmd(const std::string& flags) const {
    return std::string(REF_ENGINE_BIN) + " --rest-url " + (tls ? "https" : "http") + "://" +
           topo.exchange_ip + ":" + std::to_string(rest) + " --ws-url " + (tls ? "wss" : "ws") +
           "://" + topo.exchange_ip + ":" + std::to_string(ws) + "/ws " +
           (tls ? "--ca-file " + dir.path() + "/pki/ca.pem " : std::string()) + flags;
  }
};

}  // namespace mmchaos::testing
