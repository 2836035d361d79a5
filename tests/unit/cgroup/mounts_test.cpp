// cgroup/mounts.cpp: this host's cgroup2 mount points and the root-cgroup check config asks.
#include "cgroup/mounts.h"

#include <gtest/gtest.h>

namespace mmchaos {
namespace {

TEST(CgroupMounts, TheMountIsTheFirstMountPoint) {
  auto points = Cgroup2MountPoints();
  ASSERT_TRUE(points.has_value()) << points.error().message();
  auto mount = Cgroup2Mount();
  if (points->empty()) {
    ASSERT_FALSE(mount.has_value());
    EXPECT_EQ(mount.error().err, ENOENT);
    return;
  }
  ASSERT_TRUE(mount.has_value()) << mount.error().message();
  EXPECT_EQ(*mount, points->front());
}

TEST(CgroupMounts, RootsByNameAndByInode) {
  for (const char* root : {"/", "//", "/sys/fs/cgroup", "/sys/fs/cgroup/", "/sys/fs/cgroup/unified",
                           "/sys/fs/cgroup/../cgroup/./"}) {
    EXPECT_TRUE(IsRootCgroup(root)) << root;
  }
  if (auto points = Cgroup2MountPoints()) {
    for (const std::string& m : *points) {
      EXPECT_TRUE(IsRootCgroup(m)) << m;
    }
  }
  EXPECT_FALSE(IsRootCgroup("/sys/fs/cgroup/system.slice/engine.service"));
  EXPECT_FALSE(IsRootCgroup("/nonexistent/cgroup"));
}

}  // namespace
}  // namespace mmchaos
