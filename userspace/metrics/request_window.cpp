#include "metrics/request_window.h"

namespace mmchaos {

RequestWindow::RequestWindow(const Config& cfg, uint64_t window_ns, bool tls_accounted)
    : window_ns_(window_ns) {
  // The data plane numbers order requests across all exchanges, in config order (first 4).
  std::array<std::string, MMC_OPS> order{};
  size_t r = 0;
  for (const auto& x : cfg.target.exchanges)
    for (const auto& req : x.order_requests)
      if (r < MMC_OP_OTHER) order[r++] = req;
  r = 0;
  for (const auto& x : cfg.target.exchanges) {
    bool plain = tls_accounted;
    for (const auto& e : x.rest) plain |= !e.tls;
    auto ops = order;
    // TLS flows accounted by the cgroup hooks show no request line: every request is just
    // "request". Accounted in the TLS library, they read as plaintext ones.
    ops[MMC_OP_OTHER] = plain ? "other" : "request";
    // Shown from the first scrape: the exchange's own order requests (where the request line is
    // read: not a TLS flow the cgroup hooks account) and its other requests. Another exchange's
    // order line on this exchange's flows appears once it is seen.
    std::array<bool, MMC_OPS> named{};
    for (size_t i = 0; i < x.order_requests.size(); ++i, ++r)
      if (r < MMC_OP_OTHER) named[r] = plain;
    named[MMC_OP_OTHER] = !x.rest.empty();
    exchanges_.push_back(x.name);
    ops_.push_back(ops);
    named_.push_back(named);
  }
}

void RequestWindow::Sample(const ReqStats& s, uint64_t now_ns) {
  std::lock_guard<std::mutex> l(mu_);
  if (!have_zero_) {
    zero_ = s;
    have_zero_ = true;
  }
  samples_.emplace_back(now_ns, s);
  // Keep one sample at or before the window's start, so the window is always fully covered.
  while (samples_.size() > 2 && samples_[1].first + window_ns_ <= now_ns) samples_.pop_front();
}

std::vector<DataPlaneSnapshot::PartialFail> RequestWindow::Rates() const {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<DataPlaneSnapshot::PartialFail> out;
  static const ReqStats kNone{};
  const ReqStats& last = samples_.empty() ? kNone : samples_.back().second;
  const ReqStats& first = samples_.empty() ? kNone : samples_.front().second;
  for (size_t x = 0; x < exchanges_.size() && x < MMC_MAX_EXCHANGES; ++x) {
    for (uint32_t op = 0; op < MMC_OPS; ++op) {
      if (ops_[x][op].empty()) continue;
      uint64_t total = last[mmc_reqstat_slot(x, op, 0)];
      if (total == 0 && !named_[x][op]) continue;
      uint64_t req = total - (samples_.size() > 1 ? first[mmc_reqstat_slot(x, op, 0)] : 0);
      uint64_t fail = last[mmc_reqstat_slot(x, op, 1)] -
                      (samples_.size() > 1 ? first[mmc_reqstat_slot(x, op, 1)] : 0);
      double rate = req ? static_cast<double>(fail) / static_cast<double>(req) : 0.0;
      out.push_back({exchanges_[x], ops_[x][op], rate > 1 ? 1 : rate});
    }
  }
  return out;
}

std::vector<DataPlaneSnapshot::RequestCount> RequestWindow::Totals() const {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<DataPlaneSnapshot::RequestCount> out;
  static const ReqStats kNone{};
  const ReqStats& last = samples_.empty() ? kNone : samples_.back().second;
  const ReqStats& zero = have_zero_ ? zero_ : kNone;
  for (size_t x = 0; x < exchanges_.size() && x < MMC_MAX_EXCHANGES; ++x) {
    for (uint32_t op = 0; op < MMC_OPS; ++op) {
      if (ops_[x][op].empty()) continue;
      const uint64_t req = last[mmc_reqstat_slot(x, op, 0)] - zero[mmc_reqstat_slot(x, op, 0)];
      if (req == 0 && !named_[x][op]) continue;
      out.push_back({exchanges_[x], ops_[x][op], req,
                     last[mmc_reqstat_slot(x, op, 1)] - zero[mmc_reqstat_slot(x, op, 1)]});
    }
  }
  return out;
}

}  // namespace mmchaos
