// The run directory's records as something a crash, a full disk or a local user may have
// left: readers never throw, use what they can, report the rest with its path, and nothing
// is written through a link or into a directory someone else can write.
#include "controller/registry.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "run_dir_fixture.h"

namespace mmchaos {
namespace {

class RunDirTest : public PrivateRunDir {
 protected:
  static bool Reported(const std::string& path, const std::string& why_part = "") {
    for (const auto& d : DamagedRecords())
      if (d.path == path && d.why.find(why_part) != std::string::npos) return true;
    return false;
  }
};

const char kSteering[] =
    R"("netns_inode": 4026531840, "netns_path": "/proc/1/ns/net", "attach": "clsact",)"
    R"( "ifb": "mmc42i", "interfaces": [{"name": "veth0", "ifindex": 3,)"
    R"( "clsact_created": true, "bounce": ""}])";
const char kMemory[] = R"("memory": {"cgroup": "/sys/fs/cgroup/e", "original": "max",)"
                       R"( "applied": "104857600"})";

TEST_F(RunDirTest, EveryKindOfDamagedStateRecordIsReportedNeverThrown) {
  struct Case {
    const char* text;
    const char* why;
  };
  const Case cases[] = {
      {"", "empty"},
      {"{\"netns_inode\": 1, \"netns_pa", "not a JSON object"},  // truncated
      {"[1, 2]", "not a JSON object"},
      {"\x01\x02garbage", "not a JSON object"},
      {R"({"netns_inode": "x"})", "netns_inode is not a number"},
      {R"({"netns_inode": 1, "netns_path": 5})", "netns_path"},
      {R"({"netns_inode": 1, "netns_path": "", "attach": "tc", "ifb": "", "interfaces": []})",
       "attach"},
      {R"({"netns_inode": 1, "netns_path": "", "attach": "tcx", "ifb": "eth0", "interfaces": []})",
       "ifb is not the name of an mmchaos ifb"},
      {R"({"netns_inode": 1, "netns_path": "", "attach": "tcx", "ifb": "", "interfaces": [1]})",
       "an entry of interfaces"},
      {R"({"netns_inode": 1, "netns_path": "", "attach": "tcx", "ifb": "", "interfaces": {}})",
       "interfaces is not a list"},
      {R"({"netns_inode": 1, "netns_path": "", "attach": "tcx", "ifb": "", "interfaces":)"
       R"( [{"name": "a", "ifindex": -1, "clsact_created": false, "bounce": ""}]})",
       "an entry of interfaces"},
      {R"({"netns_inode": 1, "netns_path": "", "attach": "tcx", "ifb": "", "interfaces":)"
       R"( [{"name": "a", "ifindex": 1, "clsact_created": false, "bounce": "lo"}]})",
       "an entry of interfaces"},
      {R"({"memory": 5})", "mem_pressure part"},
      {R"({"memory": {"cgroup": "/a", "original": 1, "applied": "2"}})", "mem_pressure part"},
      {R"({"memory": {"cgroup": "relative", "original": "max", "applied": "2"}})",
       "absolute cgroup directory"},
      {R"({"memory": {"cgroup": "/a", "original": "max; rm -rf /", "applied": "2"}})",
       "memory.high values"},
      {R"({"cgroup_id": 7, "memory": {"cgroup": "/a", "original": "max", "applied": "2"}})",
       "cgroup_id is not the one in its name"},
      {R"({"cgroup_id": "x"})", "cgroup_id"},
  };
  int id = 100;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    std::string path = Put("cgroup-" + std::to_string(id++) + ".state.json", c.text);
    EXPECT_NO_THROW({
      EXPECT_TRUE(ReadStates().empty());
      EXPECT_TRUE(ReadMemoryRecords().empty());
    });
    EXPECT_TRUE(Reported(path, c.why)) << "not reported with '" << c.why << "'";
    ::unlink(path.c_str());
  }
}

TEST_F(RunDirTest, TheReadablePartOfADamagedRecordIsStillUndone) {
  // A damaged tc part must not cost the memory part, and the other way round.
  std::string p1 =
      Put("cgroup-1.state.json", std::string("{") + kMemory + R"(, "netns_inode": "x"})");
  std::string p2 = Put("cgroup-2.state.json", std::string("{") + kSteering + R"(, "memory": [1]})");
  auto mem = ReadMemoryRecords();
  ASSERT_EQ(mem.size(), 1u);
  EXPECT_EQ(mem[0].cgroup_id, 1u);
  EXPECT_EQ(mem[0].original, "max");
  auto st = ReadStates();
  ASSERT_EQ(st.size(), 1u);
  EXPECT_EQ(st[0].cgroup_id, 2u);
  EXPECT_EQ(st[0].steering.ifb, "mmc42i");
  ASSERT_EQ(st[0].steering.ifaces.size(), 1u);
  EXPECT_TRUE(st[0].steering.ifaces[0].clsact_created);
  EXPECT_TRUE(Reported(p1, "tc path part"));
  EXPECT_TRUE(Reported(p2, "mem_pressure part"));
}

TEST_F(RunDirTest, LockRecordsOfTheWrongTypeAreIgnoredNotThrown) {
  for (const char* text : {R"({"pid":"x"})", R"({"cgroup_id":[1]})", "{", "", R"({"pid":1e99})"}) {
    SCOPED_TRACE(text);
    Put("cgroup-9.lock", text);
    EXPECT_NO_THROW({
      EXPECT_TRUE(LiveControllers().empty());
      EXPECT_FALSE(ControllerAlive(9));
    });
  }
  const auto removed = RemoveStaleRecords();
  ASSERT_EQ(removed.size(), 1u);
  EXPECT_EQ(removed[0].pid, 0) << "an unreadable record names no controller";
  EXPECT_EQ(removed[0].cgroup_id, 9u) << "from the file name";
}

// What `mmchaos rollback` says it removed: each stale lock record with the controller it named.
TEST_F(RunDirTest, StaleLockRecordsAreRemovedWithTheirControllersPid) {
  Put("cgroup-12.lock", R"({"pid": 4242, "cgroup_id": 12, "cgroup": "/sys/fs/cgroup/e",)"
                        R"( "config": "/etc/mmchaos/chaos.yaml", "started_unix": 1})");
  const auto removed = RemoveStaleRecords();
  ASSERT_EQ(removed.size(), 1u);
  EXPECT_EQ(removed[0].pid, 4242);
  EXPECT_EQ(removed[0].cgroup, "/sys/fs/cgroup/e");
  EXPECT_FALSE(std::filesystem::exists(run_ + "/cgroup-12.lock"));
  EXPECT_TRUE(RemoveStaleRecords().empty());
}

TEST_F(RunDirTest, LinksFifosAndHugeFilesAreNotRead) {
  std::string secret = Put("elsewhere.json", std::string("{") + kMemory + "}");
  ASSERT_EQ(::symlink(secret.c_str(), (run_ + "/cgroup-3.state.json").c_str()), 0);
  ASSERT_EQ(::mkfifo((run_ + "/cgroup-4.state.json").c_str(), 0600), 0);
  Put("cgroup-5.state.json", "{\"x\": \"" + std::string(2 << 20, 'a') + "\"}");
  EXPECT_TRUE(ReadMemoryRecords().empty()) << "a record reached through a symlink was used";
  EXPECT_TRUE(Reported(run_ + "/cgroup-3.state.json"));
  EXPECT_TRUE(Reported(run_ + "/cgroup-4.state.json", "FIFO"));
  EXPECT_TRUE(Reported(run_ + "/cgroup-5.state.json"));
}

TEST_F(RunDirTest, ARunDirOthersCanWriteIsNotTrusted) {
  Put("cgroup-6.state.json", std::string("{") + kMemory + "}");
  ASSERT_EQ(ReadMemoryRecords().size(), 1u);
  ASSERT_EQ(::chmod(run_.c_str(), 0777), 0);
  EXPECT_TRUE(ReadMemoryRecords().empty());
  EXPECT_FALSE(CheckRunDir());
  EXPECT_TRUE(Reported(run_, "writable by group or others"));
  EXPECT_FALSE(WriteMemoryRecord({6, "/sys/fs/cgroup/e", "max", "1"}));
  ASSERT_EQ(::chmod(run_.c_str(), 0755), 0);
  ASSERT_EQ(::chown(run_.c_str(), 65534, 65534), 0);
  EXPECT_TRUE(ReadMemoryRecords().empty());
  EXPECT_TRUE(Reported(run_, "owned by uid 65534"));
  ASSERT_EQ(::chown(run_.c_str(), 0, 0), 0);

  // A symlink to a good directory is not the directory.
  std::string link = root_ + "/link";
  ASSERT_EQ(::symlink(run_.c_str(), link.c_str()), 0);
  ASSERT_EQ(setenv("MMCHAOS_RUN_DIR", link.c_str(), 1), 0);
  EXPECT_FALSE(CheckRunDir());
  EXPECT_TRUE(ReadMemoryRecords().empty());
  // A relative MMCHAOS_RUN_DIR is not taken at all.
  ASSERT_EQ(setenv("MMCHAOS_RUN_DIR", "run", 1), 0);
  EXPECT_EQ(RunDir(), kRunDir);
}

TEST_F(RunDirTest, TheRunDirIsMadeWithOurMode) {
  std::string fresh = root_ + "/fresh/mmchaos";
  ASSERT_EQ(setenv("MMCHAOS_RUN_DIR", fresh.c_str(), 1), 0);
  mode_t old = ::umask(077);
  auto ok = PrepareRunDir();
  ::umask(old);
  ASSERT_TRUE(ok) << ok.error().message();
  struct stat st {};
  ASSERT_EQ(::stat(fresh.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
}

TEST_F(RunDirTest, TheLockFileIsNeverFollowedThroughALink) {
  std::string victim = Put("victim", "precious\n");
  ASSERT_EQ(::symlink(victim.c_str(), (run_ + "/cgroup-77.lock").c_str()), 0);
  auto lock = ControllerLock::Acquire({getpid(), 77, "/sys/fs/cgroup/x", "c.yaml", 1});
  ASSERT_FALSE(lock.has_value());
  EXPECT_EQ(lock.error().err, ELOOP) << lock.error().message();
  std::ifstream in(victim);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "precious\n");
  // A lock file someone else owns is not taken either.
  ::unlink((run_ + "/cgroup-77.lock").c_str());
  Put("cgroup-77.lock", "");
  ASSERT_EQ(::chown((run_ + "/cgroup-77.lock").c_str(), 65534, 65534), 0);
  lock = ControllerLock::Acquire({getpid(), 77, "/sys/fs/cgroup/x", "c.yaml", 1});
  ASSERT_FALSE(lock.has_value());
  EXPECT_EQ(lock.error().err, EPERM) << lock.error().message();
}

TEST_F(RunDirTest, StateWritesIgnorePlantedTemporaryNames) {
  // The old fixed temporary name, and a link at the record's own name, both planted.
  std::string victim = Put("victim", "precious\n");
  ASSERT_EQ(::symlink(victim.c_str(), (run_ + "/cgroup-8.state.json.tmp").c_str()), 0);
  ASSERT_TRUE(WriteMemoryRecord({8, "/sys/fs/cgroup/e", "max", "1048576"}));
  std::ifstream in(victim);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "precious\n");
  ASSERT_EQ(ReadMemoryRecords().size(), 1u);
  struct stat st {};
  ASSERT_EQ(::lstat((run_ + "/cgroup-8.state.json").c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0644u);
}

}  // namespace
}  // namespace mmchaos
