// Appends one JSON line per processed order request (place, cancel, rate-limited, injected
// failure) to a file, flushed per line, so a test or an experiment can prove what reached the
// exchange. Thread-safe; a no-op without a path.
#pragma once

#include <cstdio>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

namespace refexchange {

class OrderLog {
 public:
  OrderLog() = default;
  ~OrderLog();
  OrderLog(const OrderLog&) = delete;
  OrderLog& operator=(const OrderLog&) = delete;

  // Opens (appends to) the file; false and *error on failure.
  bool open(const std::string& path, std::string* error);
  // Adds "ts" (CLOCK_REALTIME ns) when absent and writes the line.
  void write(nlohmann::json entry);

 private:
  std::mutex mu_;
  FILE* file_ = nullptr;
};

}  // namespace refexchange
