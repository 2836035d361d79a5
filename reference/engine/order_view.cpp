#include "order_view.h"

#include <unordered_set>

namespace refengine {

ReconcileDiff diff_orders(const std::map<uint64_t, OpenOrder>& engine,
                          const std::vector<OpenOrder>& exchange) {
  ReconcileDiff d;
  std::unordered_set<uint64_t> on_exchange;
  for (const auto& o : exchange) {
    on_exchange.insert(o.order_id);
    if (!engine.contains(o.order_id)) d.missing_on_engine.push_back(o.order_id);
  }
  for (const auto& [id, o] : engine)
    if (!on_exchange.contains(id)) d.missing_on_exchange.push_back(id);
  return d;
}

void OrderView::add(OpenOrder o) { orders_[o.order_id] = std::move(o); }

bool OrderView::remove(uint64_t order_id) { return orders_.erase(order_id) > 0; }

void OrderView::mark_cancel_pending(uint64_t order_id) {
  if (auto it = orders_.find(order_id); it != orders_.end()) it->second.cancel_pending = true;
}

size_t OrderView::active() const {
  size_t n = 0;
  for (const auto& [id, o] : orders_) n += o.cancel_pending ? 0 : 1;
  return n;
}

std::optional<uint64_t> OrderView::oldest_active() const {
  for (const auto& [id, o] : orders_)
    if (!o.cancel_pending) return id;
  return std::nullopt;
}

ReconcileDiff OrderView::reconcile(const std::vector<OpenOrder>& exchange) {
  ReconcileDiff d = diff_orders(orders_, exchange);
  orders_.clear();
  for (const auto& o : exchange) orders_[o.order_id] = OpenOrder{o.order_id, o.client_id, false};
  return d;
}

}  // namespace refengine
