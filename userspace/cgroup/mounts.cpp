#include "cgroup/mounts.h"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>
#include <string_view>

namespace mmchaos {
namespace {

// /proc/self/mountinfo escapes ' ', '\t', '\n' and '\\' as \ooo.
std::string UnescapeMountinfo(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && std::isdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isdigit(static_cast<unsigned char>(s[i + 2])) &&
        std::isdigit(static_cast<unsigned char>(s[i + 3]))) {
      out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

// Lexical normalization: collapse "//", drop ".", resolve "..", strip trailing slashes.
std::string NormalizePath(std::string_view path) {
  bool absolute = !path.empty() && path.front() == '/';
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    std::string_view part = path.substr(i, j - i);
    if (part.empty() || part == ".") {
    } else if (part == "..") {
      if (!parts.empty() && parts.back() != "..") {
        parts.pop_back();
      } else if (!absolute) {
        parts.push_back(part);
      }
    } else {
      parts.push_back(part);
    }
    i = j + 1;
  }
  std::string out(absolute ? 1 : 0, '/');
  for (size_t k = 0; k < parts.size(); ++k) {
    if (k > 0) out += '/';
    out += parts[k];
  }
  if (out.empty()) out.push_back('.');
  return out;
}

bool SameInode(const std::string& a, const std::string& b) {
  struct stat sa, sb;
  if (stat(a.c_str(), &sa) != 0 || stat(b.c_str(), &sb) != 0) return false;
  return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

}  // namespace

Result<std::vector<std::string>> Cgroup2MountPoints() {
  std::ifstream in("/proc/self/mountinfo");
  if (!in) return Fail("open(/proc/self/mountinfo)", errno);
  std::vector<std::string> points;
  std::string line;
  while (std::getline(in, line)) {
    // id parent major:minor root mount-point options [optional...] - fstype source super-options
    std::istringstream fields(line);
    std::vector<std::string> f;
    std::string field;
    while (fields >> field) f.push_back(field);
    auto dash = std::find(f.begin(), f.end(), "-");
    if (f.size() < 5 || dash == f.end() || dash + 1 == f.end()) continue;
    if (*(dash + 1) == "cgroup2") points.push_back(UnescapeMountinfo(f[4]));
  }
  return points;
}

Result<std::string> Cgroup2Mount() {
  auto points = Cgroup2MountPoints();
  if (!points) return std::unexpected(points.error());
  if (points->empty())
    return Fail("find cgroup2 in /proc/self/mountinfo", ENOENT,
                "mount the unified hierarchy: mount -t cgroup2 none /sys/fs/cgroup");
  return points->front();
}

bool IsRootCgroup(const std::string& path) {
  std::string norm = NormalizePath(path);
  std::vector<std::string> roots = {"/", "/sys/fs/cgroup", "/sys/fs/cgroup/unified"};
  if (auto points = Cgroup2MountPoints()) {
    for (const std::string& m : *points) roots.push_back(NormalizePath(m));
  }
  for (const std::string& r : roots) {
    if (norm == r) return true;
  }
  // Symlinks, bind mounts and relative paths: compare the directories themselves.
  for (const std::string& r : roots) {
    if (r != "/" && SameInode(path, r)) return true;
  }
  return SameInode(path, "/");
}

}  // namespace mmchaos
