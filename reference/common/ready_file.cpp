#include "ready_file.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace refcommon {

bool write_json_atomically(const std::string& path, const nlohmann::json& doc, std::string* error) {
  const std::string tmp = path + ".tmp." + std::to_string(getpid());
  const std::string text = doc.dump(2) + "\n";
  FILE* f = std::fopen(tmp.c_str(), "w");
  bool ok = f != nullptr;
  if (ok) ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  if (f && std::fclose(f) != 0) ok = false;
  if (ok && std::rename(tmp.c_str(), path.c_str()) != 0) ok = false;
  if (!ok) {
    if (error) *error = path + ": " + std::strerror(errno);
    std::remove(tmp.c_str());
  }
  return ok;
}

}  // namespace refcommon
