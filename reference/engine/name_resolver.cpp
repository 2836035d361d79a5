#include "name_resolver.h"

#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <list>
#include <memory>

namespace refengine {
using namespace refnet;

namespace {

// One getaddrinfo_a request; glibc writes into it until the lookup is done, so it must stay
// alive until then even if the caller gave up.
struct Lookup {
  std::string host;
  std::string service;
  addrinfo hints{};
  gaicb cb{};

  ~Lookup() {
    if (cb.ar_result) freeaddrinfo(cb.ar_result);
  }
};

// Lookups that timed out and could not be cancelled: freed once glibc has finished them.
std::list<std::unique_ptr<Lookup>>& abandoned() {
  static std::list<std::unique_ptr<Lookup>> list;
  return list;
}

void reap_abandoned() {
  abandoned().remove_if([](const auto& l) { return gai_error(&l->cb) != EAI_INPROGRESS; });
}

}  // namespace

asio::awaitable<Resolution> resolve(std::string host, uint16_t port,
                                    std::chrono::milliseconds timeout) {
  using Clock = std::chrono::steady_clock;
  reap_abandoned();
  Resolution res;
  const auto start = Clock::now();
  auto lookup = std::make_unique<Lookup>();
  lookup->host = std::move(host);
  lookup->service = std::to_string(port);
  lookup->hints.ai_family = AF_UNSPEC;
  lookup->hints.ai_socktype = SOCK_STREAM;
  lookup->hints.ai_flags = AI_NUMERICSERV;
  lookup->cb.ar_name = lookup->host.c_str();
  lookup->cb.ar_service = lookup->service.c_str();
  lookup->cb.ar_request = &lookup->hints;
  gaicb* list[1] = {&lookup->cb};
  int rc = getaddrinfo_a(GAI_NOWAIT, list, 1, nullptr);
  if (rc != 0) {
    res.error = gai_strerror(rc);
    res.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    co_return res;
  }
  asio::steady_timer timer(co_await asio::this_coro::executor);
  auto poll = std::chrono::microseconds(200);
  while ((rc = gai_error(&lookup->cb)) == EAI_INPROGRESS) {
    if (Clock::now() - start >= timeout) break;
    timer.expires_after(poll);
    error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    poll = std::min<std::chrono::microseconds>(poll * 2, std::chrono::milliseconds(10));
  }
  res.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (rc == EAI_INPROGRESS) {
    res.timed_out = true;
    res.error = "timed out after " + std::to_string(timeout.count()) + " ms";
    if (gai_cancel(&lookup->cb) == EAI_NOTCANCELED) abandoned().push_back(std::move(lookup));
    co_return res;
  }
  if (rc != 0) {
    res.error = rc == EAI_SYSTEM ? std::strerror(errno) : gai_strerror(rc);
    co_return res;
  }
  for (const addrinfo* ai = lookup->cb.ar_result; ai; ai = ai->ai_next) {
    if (ai->ai_family == AF_INET || ai->ai_family == AF_INET6) {
      tcp::endpoint ep;
      std::memcpy(ep.data(), ai->ai_addr, ai->ai_addrlen);
      ep.resize(ai->ai_addrlen);
      res.endpoints.push_back(ep);
    }
  }
  if (res.endpoints.empty()) res.error = "no IPv4/IPv6 address";
  co_return res;
}

}  // namespace refengine
