// target.exchanges -> the concrete endpoints (address, port, flow class) the BPF maps match on.
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "common/error.h"
#include "config/config.h"

namespace mmchaos {

// Same values as enum mmc_flow_class (bpf/mmchaos.h).
enum class FlowClass : uint8_t { kRest = 1, kWs = 2 };

struct ResolvedEndpoint {
  int family = AF_INET;            // AF_INET or AF_INET6
  std::array<uint8_t, 16> addr{};  // IPv4 in the first 4 bytes, network order
  uint16_t port = 0;               // host order
  FlowClass cls = FlowClass::kRest;
  uint8_t exchange = 0;       // index into Target::exchanges (config order)
  bool tls = false;           // https/wss
  std::string url;            // the URL it came from
  std::string exchange_name;  // Target::exchanges[exchange].name
};

struct ResolveResult {
  // Config order: exchange, then rest before ws, then URL, then the resolver's address order.
  std::vector<ResolvedEndpoint> endpoints;
  // One per exchange and failed host: "exchange binance: api.binance.com: Name or service not
  // known". The other hosts' endpoints are still returned.
  std::vector<std::string> errors;
  // Ambiguities that are not failures, e.g. one address:port that is both a rest and a ws
  // endpoint (the data plane cannot tell those flows apart by their remote end).
  std::vector<std::string> warnings;
};

// Host name -> its addresses as (family, addr) pairs, addr laid out as in ResolvedEndpoint.
using Resolver =
    std::function<Result<std::vector<std::pair<int, std::array<uint8_t, 16>>>>(const std::string&)>;

// Resolves every REST and WS URL of every exchange with getaddrinfo (AF_UNSPEC, SOCK_STREAM);
// IP literals need no DNS. Identical (family, addr, port, cls) are kept once (the first, in
// config order); IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) become AF_INET, since that is what
// the packets carry. DNS queries leave through the calling thread's network namespace (the
// caller enters the engine's netns first); /etc/hosts and resolv.conf are those of the caller's
// mount namespace.
ResolveResult ResolveEndpoints(const Target& t);
// The same with `r` in place of getaddrinfo (tests). `r` is called once per distinct host name.
ResolveResult ResolveEndpoints(const Target& t, const Resolver& r);

// The getaddrinfo resolver ResolveEndpoints(t) uses.
Result<std::vector<std::pair<int, std::array<uint8_t, 16>>>> SystemResolve(const std::string& host);

// "10.0.0.2:8080 rest testnet", "[fd00::2]:443 ws binance (tls)".
std::string EndpointString(const ResolvedEndpoint& ep);

}  // namespace mmchaos
