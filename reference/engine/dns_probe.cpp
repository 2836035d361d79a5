#include "dns_probe.h"

#include <iostream>

#include "name_resolver.h"

namespace refengine {
using namespace refnet;

DnsProbe::DnsProbe(asio::any_io_executor ex, std::vector<std::string> hosts,
                   std::chrono::seconds every, std::chrono::milliseconds timeout, Metrics& metrics)
    : ex_(std::move(ex)),
      hosts_(std::move(hosts)),
      every_(every),
      timeout_(timeout),
      metrics_(metrics) {}

asio::awaitable<void> DnsProbe::run() {
  asio::steady_timer timer(ex_);
  auto next = std::chrono::steady_clock::now() + every_;
  for (;;) {
    timer.expires_at(next);
    error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    for (const auto& host : hosts_) {
      Resolution r = co_await resolve(host, 0, timeout_);
      metrics_.dns_lookup(r.ok(), r.seconds);
      if (!r.ok()) std::cerr << "ref-engine: resolve " << host << ": " << r.error << "\n";
    }
    next += every_;
    if (const auto now = std::chrono::steady_clock::now(); next < now) next = now + every_;
  }
}

}  // namespace refengine
