// The one logger's lines are what operators and the kernel tests grep: "mmchaos: " and the text.
#include "common/log.h"

#include <gtest/gtest.h>

#include <string>

namespace mmchaos {
namespace {

TEST(Log, EveryLineIsPrefixedAndWhole) {
  ::testing::internal::CaptureStderr();
  Log("attached to /sys/fs/cgroup/x");
  LogWarning("w");
  LogError(std::string("e: ") + "why");
  LogNote("n");
  Logf("burst %d on (%s)", 3, "live");
  EXPECT_EQ(::testing::internal::GetCapturedStderr(),
            "mmchaos: attached to /sys/fs/cgroup/x\n"
            "mmchaos: warning: w\n"
            "mmchaos: error: e: why\n"
            "mmchaos: note: n\n"
            "mmchaos: burst 3 on (live)\n");
}

}  // namespace
}  // namespace mmchaos
