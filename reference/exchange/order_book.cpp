#include "order_book.h"

namespace refexchange {

nlohmann::json to_json(const Order& o) {
  return {{"order_id", o.order_id}, {"client_id", o.client_id},  {"symbol", o.symbol},
          {"side", o.side},         {"price", o.price},          {"qty", o.qty},
          {"status", "NEW"},        {"created_ns", o.created_ns}};
}

Order OrderBook::place(Order o) {
  std::lock_guard lock(mu_);
  o.order_id = next_id_++;
  orders_.emplace(o.order_id, o);
  return o;
}

std::optional<Order> OrderBook::cancel(uint64_t order_id) {
  std::lock_guard lock(mu_);
  auto it = orders_.find(order_id);
  if (it == orders_.end()) return std::nullopt;
  Order o = std::move(it->second);
  orders_.erase(it);
  return o;
}

std::vector<Order> OrderBook::open_orders(const std::string& symbol) const {
  std::lock_guard lock(mu_);
  std::vector<Order> out;
  out.reserve(orders_.size());
  for (const auto& [id, o] : orders_)
    if (symbol.empty() || o.symbol == symbol) out.push_back(o);
  return out;
}

size_t OrderBook::size() const {
  std::lock_guard lock(mu_);
  return orders_.size();
}

}  // namespace refexchange
