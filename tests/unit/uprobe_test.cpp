// What the per-process uprobe attachment reads: a cgroup's processes (its descendants' too) and
// the copy of a library a process maps.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "uprobe/elf_symbol.h"
#include "uprobe/process_uprobes.h"

namespace {

TEST(ProcessUprobes, CgroupPidsIncludeDescendants) {
  char tmpl[] = "/tmp/mmchaos-cg-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::filesystem::path root(tmpl);
  std::filesystem::create_directories(root / "a" / "b");
  std::ofstream(root / "cgroup.procs") << "12\n7\n";
  std::ofstream(root / "a" / "cgroup.procs") << "";
  std::ofstream(root / "a" / "b" / "cgroup.procs") << "99\n7\n";
  EXPECT_EQ(mmchaos::CgroupPids(root.string()), (std::vector<pid_t>{7, 12, 99}));
  EXPECT_TRUE(mmchaos::CgroupPids((root / "none").string()).empty());
  std::filesystem::remove_all(root);
}

TEST(ProcessUprobes, MappedLibraryIsTheProcesssOwnCopy) {
  const std::string libc = mmchaos::MappedLibrary(getpid(), "libc.so.6");
  ASSERT_FALSE(libc.empty());
  EXPECT_EQ(libc.rfind("/proc/" + std::to_string(getpid()) + "/root/", 0), 0u) << libc;
  EXPECT_TRUE(std::filesystem::equivalent(libc, mmchaos::HostLibrary("libc.so.6")));
  EXPECT_TRUE(mmchaos::MappedLibrary(getpid(), "libnot-there.so.1").empty());
}

}  // namespace
