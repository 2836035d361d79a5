// The engine's own view of its open orders, and reconciliation against the exchange's.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace refengine {

struct OpenOrder {
  uint64_t order_id = 0;
  std::string client_id;
  // A cancel was sent but its answer never came: the order may or may not still be open.
  bool cancel_pending = false;
};

struct ReconcileDiff {
  std::vector<uint64_t> missing_on_engine;    // open on the exchange, unknown to the engine
  std::vector<uint64_t> missing_on_exchange;  // believed open by the engine, not on the exchange
};

// Pure comparison of the two views.
ReconcileDiff diff_orders(const std::map<uint64_t, OpenOrder>& engine,
                          const std::vector<OpenOrder>& exchange);

class OrderView {
 public:
  void add(OpenOrder o);
  bool remove(uint64_t order_id);
  void mark_cancel_pending(uint64_t order_id);
  // Orders without a pending cancel: what the strategy counts and may cancel.
  size_t active() const;
  std::optional<uint64_t> oldest_active() const;
  size_t size() const { return orders_.size(); }
  const std::map<uint64_t, OpenOrder>& orders() const { return orders_; }

  // Compares with the exchange's open orders, then adopts them as the truth.
  ReconcileDiff reconcile(const std::vector<OpenOrder>& exchange);

 private:
  std::map<uint64_t, OpenOrder> orders_;
};

}  // namespace refengine
