// Errors that say which call failed, with what errno, and what the operator should do.
#pragma once

#include <cerrno>
#include <cstring>
#include <expected>
#include <string>
#include <utility>

namespace mmchaos {

struct Error {
  Error() = default;
  // {call, err, hint} as before; detail only where a library has codes of its own. (A
  // constructor, not an aggregate: g++ 12 warns about every brace list that leaves detail out.)
  Error(std::string call, int err, std::string hint, std::string detail = {})
      : call(std::move(call)), err(err), hint(std::move(hint)), detail(std::move(detail)) {}

  std::string call;  // the failing call or step, e.g. "bpf_link_create(cgroup_skb/egress)"
  int err = 0;       // errno (positive), 0 when not a system error
  std::string hint;  // what to do about it
  // A library's own code and text where it has its own codes (libnl's nl_geterror), said
  // instead of strerror(err); err then holds the errno the code stands for, if any.
  std::string detail;

  std::string message() const {
    std::string m = call;
    if (!detail.empty())
      m += ": " + detail;
    else if (err != 0)
      m += ": " + std::string(std::strerror(err));
    if (!hint.empty()) m += " (" + hint + ")";
    return m;
  }
};

// A result that cannot be dropped quietly (g++ 12's std::expected is not [[nodiscard]]): handle
// it, or discard it with `(void)` and a comment saying why dropping is right.
template <typename T>
class [[nodiscard]] Result : public std::expected<T, Error> {
 public:
  using std::expected<T, Error>::expected;
  using std::expected<T, Error>::operator=;  // `r = Fail(...)` assigns in place, as expected does
};

inline std::unexpected<Error> Fail(std::string call, int err = 0, std::string hint = {}) {
  return std::unexpected(Error{std::move(call), err < 0 ? -err : err, std::move(hint)});
}

// The usual hint for EPERM/EACCES from bpf(2), netlink and cgroupfs.
inline std::string PrivilegeHint(int err) {
  err = err < 0 ? -err : err;
  if (err == EPERM || err == EACCES)
    return "needs CAP_BPF, CAP_NET_ADMIN and CAP_SYS_ADMIN: run as root";
  return {};
}

}  // namespace mmchaos
