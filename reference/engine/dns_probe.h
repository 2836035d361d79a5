// Resolves the exchange's host names every few seconds, as engines do to follow address changes;
// each lookup's time and failure are counted (mm_dns_*).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "metrics.h"
#include "net.h"

namespace refengine {

class DnsProbe {
 public:
  DnsProbe(refnet::asio::any_io_executor ex, std::vector<std::string> hosts,
           std::chrono::seconds every, std::chrono::milliseconds timeout, Metrics& metrics);
  refnet::asio::awaitable<void> run();

 private:
  refnet::asio::any_io_executor ex_;
  std::vector<std::string> hosts_;
  std::chrono::seconds every_;
  std::chrono::milliseconds timeout_;
  Metrics& metrics_;
};

}  // namespace refengine
