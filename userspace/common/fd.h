// A move-only owner of a file descriptor (-1 when empty).
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <utility>

namespace mmchaos {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) reset(std::exchange(o.fd_, -1));
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  int release() { return std::exchange(fd_, -1); }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

// Both ends of a pipe, each closed by its owner (both empty when pipe2 failed, errno set).
struct Pipe {
  UniqueFd read, write;
};
inline Pipe MakePipe(int flags = O_CLOEXEC) {
  int p[2];
  if (::pipe2(p, flags) != 0) return {};
  return {UniqueFd(p[0]), UniqueFd(p[1])};
}

}  // namespace mmchaos
