// libnl failures keep libnl's code and text, the errno it stands for, the call and advice.
#include <gtest/gtest.h>
#include <netlink/errno.h>

#include <cerrno>
#include <string>

#include "tc/netlink.h"

namespace mmchaos {
namespace {

// NlErrno undoes libnl's own translation of the kernel's errno (nl_syserr2nlerr) for every
// errno that has a code of its own.
TEST(NetlinkError, NlErrnoUndoesLibnlsTranslation) {
  for (int e : {EBADF, EEXIST, EADDRNOTAVAIL, ENOENT, EINTR, EAGAIN, EACCES, EINVAL, ENOMEM,
                EAFNOSUPPORT, EPROTONOSUPPORT, EOPNOTSUPP, EPERM, EBUSY, ERANGE, ENODEV}) {
    const int code = nl_syserr2nlerr(e);
    EXPECT_EQ(NlErrno(code), e) << "errno " << e << " -> libnl " << code;
    EXPECT_EQ(NlErrno(-code), e) << "negative, as libnl's calls return it";
  }
  // libnl's own failures stand for no errno.
  for (int code : {NLE_FAILURE, NLE_NOATTR, NLE_MSGTYPE_NOSUPPORT, NLE_PARSE_ERR, NLE_NOCACHE})
    EXPECT_EQ(NlErrno(-code), 0) << code;
}

TEST(NetlinkError, KeepsTheCallLibnlsCodeAndTextAndTheErrno) {
  const Error e = NlFail("rtnl_qdisc_add(htb on ifb)", -NLE_EXIST).error();
  EXPECT_EQ(e.call, "rtnl_qdisc_add(htb on ifb)");
  EXPECT_EQ(e.err, EEXIST);
  const std::string m = e.message();
  EXPECT_EQ(m.find("rtnl_qdisc_add(htb on ifb): "), 0u) << m;
  EXPECT_NE(m.find(nl_geterror(NLE_EXIST)), std::string::npos) << m;
  EXPECT_NE(m.find("libnl error 6"), std::string::npos) << m;
  EXPECT_NE(m.find("mmchaos rollback"), std::string::npos) << "what to do: " << m;
}

TEST(NetlinkError, AGivenHintWinsAndEachCodeHasItsAdvice) {
  EXPECT_EQ(NlFail("x", -NLE_EXIST, "do this").error().hint, "do this");
  EXPECT_NE(NlFail("x", -NLE_PERM).error().hint.find("root"), std::string::npos);
  EXPECT_NE(NlFail("x", -NLE_NOACCESS).error().hint.find("root"), std::string::npos);
  EXPECT_NE(NlFail("x", -NLE_OPNOTSUPP).error().hint.find("mmchaos doctor"), std::string::npos);
  EXPECT_NE(NlFail("x", -NLE_MSGTYPE_NOSUPPORT).error().hint.find("mmchaos doctor"),
            std::string::npos);
  // libnl's own failure: its text and code, no errno, no invented advice.
  const Error f = NlFail("nl_connect", -NLE_FAILURE).error();
  EXPECT_EQ(f.err, 0);
  EXPECT_EQ(f.hint, "");
  EXPECT_EQ(f.message(),
            std::string("nl_connect: ") + nl_geterror(NLE_FAILURE) + " (libnl error 1)");
}

// A plain errno failure is said as before.
TEST(NetlinkError, ErrnoFailuresAreUnchanged) {
  EXPECT_EQ(Fail("open(x)", ENOENT).error().message(), "open(x): No such file or directory");
}

}  // namespace
}  // namespace mmchaos
