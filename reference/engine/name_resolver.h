// Name resolution through getaddrinfo (the system resolver: /etc/hosts, resolv.conf, nss), run
// asynchronously with getaddrinfo_a so a slow or dead DNS server never blocks the engine's io
// thread, and bounded by a timeout. A lookup still running at its timeout is cancelled and
// counts as failed.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "net.h"

namespace refengine {

struct Resolution {
  std::vector<refnet::tcp::endpoint> endpoints;
  std::string error;  // empty on success
  bool timed_out = false;
  double seconds = 0;
  bool ok() const { return error.empty(); }
};

refnet::asio::awaitable<Resolution> resolve(std::string host, uint16_t port,
                                            std::chrono::milliseconds timeout);

}  // namespace refengine
