// Where root appends the injection log: only a *.jsonl/*.log file outside the system's trees,
// in directories nobody else can swap, never through a link, never someone else's file.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "config/config.h"
#include "eventlog/eventlog.h"

namespace mmchaos {
namespace {

class LogDir : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/mmchaos-log-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string dir_;
};

TEST(InjectionLogPath, OnlyLogFilesOutsideTheSystemsTrees) {
  for (const char* ok :
       {"-", "/var/log/mmchaos/injections.jsonl", "/tmp/x/inj.log", "/srv/chaos/run-1.jsonl"})
    EXPECT_EQ(LogPathProblem(ok), "") << ok;
  for (const char* bad :
       {"", "injections.jsonl", "./inj.jsonl", "/proc/sys/kernel/core_pattern",
        "/proc/self/inj.jsonl", "/sys/kernel/x.log", "/dev/shm/x.jsonl", "/etc/cron.d/x.log",
        "/usr/lib/x.jsonl", "/boot/x.log", "/var/log/../../etc/x.log", "/var/log/mmchaos/",
        "/var/log/mmchaos/injections", "/root/.bashrc", "/var/log/.jsonl"})
    EXPECT_NE(LogPathProblem(bad), "") << bad;
  auto r = ParseConfig("log:\n  injections: /proc/sys/kernel/core_pattern\n", "t.yaml");
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message().find("t.yaml:2:15: log.injections:"), std::string::npos)
      << r.error().message();
}

TEST_F(LogDir, MakesItsDirectoriesAndAFileOnlyRootCanWrite) {
  mode_t old = ::umask(0);
  auto fd = OpenInjectionLog(dir_ + "/a/b/inj.jsonl");
  ::umask(old);
  ASSERT_TRUE(fd) << fd.error().message();
  struct stat st {};
  ASSERT_EQ(::stat((dir_ + "/a/b/inj.jsonl").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
  ASSERT_EQ(::stat((dir_ + "/a/b").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0022, 0u);
}

TEST_F(LogDir, NeverThroughALinkNorIntoSomeoneElsesFile) {
  std::string victim = dir_ + "/victim.log";
  std::ofstream(victim) << "precious\n";
  ASSERT_EQ(::symlink(victim.c_str(), (dir_ + "/inj.jsonl").c_str()), 0);
  auto fd = OpenInjectionLog(dir_ + "/inj.jsonl");
  ASSERT_FALSE(fd);
  EXPECT_EQ(fd.error().err, ELOOP) << fd.error().message();

  std::string theirs = dir_ + "/theirs.jsonl";
  std::ofstream(theirs) << "";
  ASSERT_EQ(::chown(theirs.c_str(), 65534, 65534), 0);
  fd = OpenInjectionLog(theirs);
  ASSERT_FALSE(fd);
  EXPECT_EQ(fd.error().err, EPERM) << fd.error().message();

  ASSERT_EQ(::mkfifo((dir_ + "/fifo.jsonl").c_str(), 0600), 0);
  fd = OpenInjectionLog(dir_ + "/fifo.jsonl");  // must not block
  ASSERT_FALSE(fd);
}

TEST_F(LogDir, DirectoriesOthersCanSwapAreRefused) {
  std::string open = dir_ + "/open";
  ASSERT_EQ(::mkdir(open.c_str(), 0777), 0);
  ASSERT_EQ(::chmod(open.c_str(), 0777), 0);
  auto fd = OpenInjectionLog(open + "/inj.jsonl");
  ASSERT_FALSE(fd);
  EXPECT_NE(fd.error().message().find("writable by others"), std::string::npos)
      << fd.error().message();
  ASSERT_EQ(::chmod(open.c_str(), 01777), 0);  // sticky, like /tmp: fine
  EXPECT_TRUE(OpenInjectionLog(open + "/inj.jsonl"));

  std::string user = dir_ + "/user";
  ASSERT_EQ(::mkdir(user.c_str(), 0755), 0);
  ASSERT_EQ(::chown(user.c_str(), 65534, 65534), 0);
  fd = OpenInjectionLog(user + "/inj.jsonl");
  ASSERT_FALSE(fd);
  EXPECT_NE(fd.error().message().find("owned by uid 65534"), std::string::npos);

  // A link in the path that leads into a system tree is judged where it leads.
  ASSERT_EQ(::symlink("/etc", (dir_ + "/etc").c_str()), 0);
  fd = OpenInjectionLog(dir_ + "/etc/inj.jsonl");
  ASSERT_FALSE(fd);
  EXPECT_NE(fd.error().message().find("resolves to /etc/inj.jsonl"), std::string::npos)
      << fd.error().message();
  EXPECT_FALSE(std::filesystem::exists("/etc/inj.jsonl"));
}

}  // namespace
}  // namespace mmchaos
