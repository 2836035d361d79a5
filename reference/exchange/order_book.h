// The exchange's order state, kept in memory so the engine's reconciliation has a truth to
// compare against. Orders rest until canceled (there is no matching). Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace refexchange {

struct Order {
  uint64_t order_id = 0;
  std::string client_id;
  std::string symbol;
  std::string side;  // "BUY" or "SELL"
  double price = 0;
  double qty = 0;
  int64_t created_ns = 0;
};

nlohmann::json to_json(const Order& o);

class OrderBook {
 public:
  // Assigns the next order id (1, 2, ...) and stores the order.
  Order place(Order o);
  // The canceled order, or nullopt when the id is unknown.
  std::optional<Order> cancel(uint64_t order_id);
  // Open orders in id order, optionally of one symbol only ("" = all).
  std::vector<Order> open_orders(const std::string& symbol = "") const;
  size_t size() const;

 private:
  mutable std::mutex mu_;
  uint64_t next_id_ = 1;
  std::map<uint64_t, Order> orders_;
};

}  // namespace refexchange
