#include "common/safe_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <random>

namespace mmchaos {
namespace {

const char* Kind(mode_t m) {
  if (S_ISDIR(m)) return "a directory";
  if (S_ISFIFO(m)) return "a FIFO";
  if (S_ISCHR(m)) return "a character device";
  if (S_ISBLK(m)) return "a block device";
  if (S_ISSOCK(m)) return "a socket";
  if (S_ISLNK(m)) return "a symlink";
  return "not a regular file";
}

}  // namespace

Result<std::string> ReadRegularFile(const std::string& path, size_t max_bytes, bool follow_links) {
  int flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | (follow_links ? 0 : O_NOFOLLOW);
  UniqueFd fd(::open(path.c_str(), flags));
  if (!fd) return Fail("open(" + path + ")", errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return Fail("fstat(" + path + ")", errno);
  if (!S_ISREG(st.st_mode))
    return Fail("read(" + path + "): " + Kind(st.st_mode), 0, "pass a regular file");
  if (static_cast<uint64_t>(st.st_size) > max_bytes)
    return Fail("read(" + path + "): " + std::to_string(st.st_size) + " bytes", EFBIG,
                "the limit is " + std::to_string(max_bytes) + " bytes");
  std::string text;
  // One byte more than allowed: a file growing while read is caught too.
  text.resize(max_bytes + 1);
  size_t got = 0;
  while (got < text.size()) {
    ssize_t n = ::read(fd.get(), text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Fail("read(" + path + ")", errno);
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  if (got > max_bytes)
    return Fail("read(" + path + "): more than " + std::to_string(max_bytes) + " bytes", EFBIG);
  text.resize(got);
  return text;
}

Result<void> EnsurePrivateDir(const std::string& dir, mode_t mode) {
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) {
    if (errno != ENOENT) return Fail("lstat(" + dir + ")", errno);
    size_t slash = dir.find_last_of('/');
    if (slash != std::string::npos && slash > 0) {
      std::string parent = dir.substr(0, slash);
      struct stat pst {};
      if (::stat(parent.c_str(), &pst) != 0) {
        if (auto p = EnsurePrivateDir(parent, mode); !p) return p;
      }
    }
    if (::mkdir(dir.c_str(), mode) == 0) {
      // The mode we asked for, whatever the umask took from it.
      if (::chmod(dir.c_str(), mode) != 0) return Fail("chmod(" + dir + ")", errno);
    } else if (errno != EEXIST) {
      return Fail("mkdir(" + dir + ")", errno, PrivilegeHint(errno));
    }
    if (::lstat(dir.c_str(), &st) != 0) return Fail("lstat(" + dir + ")", errno);
  }
  if (!S_ISDIR(st.st_mode))
    return Fail(dir + " is " + std::string(Kind(st.st_mode)) + ", not a directory", ENOTDIR,
                "remove it: mmchaos keeps its records in a directory of its own");
  if (st.st_uid != ::geteuid())
    return Fail(dir + " is owned by uid " + std::to_string(st.st_uid) + ", not " +
                    std::to_string(::geteuid()),
                EPERM, "someone else made it: check who, then remove it");
  if (st.st_mode & (S_IWGRP | S_IWOTH))
    return Fail(dir + " is writable by group or others", EPERM,
                "chmod go-w it (others could plant records there)");
  return {};
}

Result<UniqueFd> OpenOwnedFile(const std::string& path, int flags, mode_t mode) {
  UniqueFd fd(::open(path.c_str(), flags | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, mode));
  if (!fd)
    return Fail("open(" + path + ")", errno,
                errno == ELOOP ? "it is a symlink: mmchaos never writes through one"
                               : PrivilegeHint(errno));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return Fail("fstat(" + path + ")", errno);
  if (!S_ISREG(st.st_mode))
    return Fail("open(" + path + "): " + Kind(st.st_mode), 0, "name a regular file");
  if (st.st_uid != ::geteuid())
    return Fail("open(" + path + "): owned by uid " + std::to_string(st.st_uid), EPERM,
                "mmchaos only writes files it owns");
  // Back to blocking writes (O_NONBLOCK was only for the open of a FIFO).
  int fl = ::fcntl(fd.get(), F_GETFL);
  if (fl >= 0) ::fcntl(fd.get(), F_SETFL, fl & ~O_NONBLOCK);
  return fd;
}

Result<void> WriteFileAtomic(const std::string& path, const std::string& content, mode_t mode) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid()) + "." +
                    std::to_string(std::random_device{}() & 0xffffff);
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode));
  if (!fd) return Fail("open(" + tmp + ")", errno, PrivilegeHint(errno));
  if (::fchmod(fd.get(), mode) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return Fail("fchmod(" + tmp + ")", err);
  }
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd.get(), content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::unlink(tmp.c_str());
      return Fail("write(" + tmp + ")", err);
    }
    done += static_cast<size_t>(n);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return Fail("rename(" + tmp + ", " + path + ")", err);
  }
  return {};
}

}  // namespace mmchaos
