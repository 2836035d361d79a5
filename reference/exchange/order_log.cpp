#include "order_log.h"

#include <cerrno>
#include <cstring>

#include "clock.h"

namespace refexchange {

OrderLog::~OrderLog() {
  if (file_) std::fclose(file_);
}

bool OrderLog::open(const std::string& path, std::string* error) {
  std::lock_guard lock(mu_);
  file_ = std::fopen(path.c_str(), "a");
  if (!file_ && error) *error = path + ": " + std::strerror(errno);
  return file_ != nullptr;
}

void OrderLog::write(nlohmann::json entry) {
  if (!entry.contains("ts")) entry["ts"] = refcommon::realtime_ns();
  const std::string line = entry.dump() + "\n";
  std::lock_guard lock(mu_);
  if (!file_) return;
  std::fwrite(line.data(), 1, line.size(), file_);
  std::fflush(file_);
}

}  // namespace refexchange
