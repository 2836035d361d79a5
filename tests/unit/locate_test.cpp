// --unit / --pod / --container against cgroup trees laid out the way systemd and the kubelet lay
// them out (systemd and cgroupfs cgroup drivers; containerd, CRI-O, Docker, Podman naming), built
// in a scratch directory.
#include "cgroup/locate.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>

namespace mmchaos {
namespace {

namespace fs = std::filesystem;

const std::string kUid = "1b2c3d4e-5f60-4a7b-8c9d-0e1f2a3b4c5d";
const std::string kUidSd = "1b2c3d4e_5f60_4a7b_8c9d_0e1f2a3b4c5d";
const std::string kOldUid = "99999999-aaaa-4bbb-8ccc-dddddddddddd";  // a deleted pod's logs
const std::string kCtr = "4f1c2a7d9e8b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d";
const std::string kCtr2 = "4f1c2a7d9e8bffffffffffffffffffffffffffffffffffffffffffffffffffff";

class Tree : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/mmchaos-locate-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    base_ = tmpl;
    root_ = base_ + "/cgroup";
    logs_ = base_ + "/pods";
    fs::create_directories(logs_ + "/trading_engine-0_" + kUid + "/engine");
    fs::create_directories(logs_ + "/trading_engine-0_" + kOldUid + "/engine");
    fs::create_directories(logs_ + "/trading_engine-1_" + kOldUid);
  }
  void TearDown() override { fs::remove_all(base_); }
  std::string Dir(const std::string& rel) {
    fs::create_directories(root_ + "/" + rel);
    return root_ + "/" + rel;
  }
  std::string base_, root_, logs_;
};

TEST_F(Tree, UnitFoundWhereSystemdPutsIt) {
  const std::string engine = Dir("system.slice/engine.service");
  Dir("system.slice/engine-helper.service");
  Dir("system.slice/system-getty.slice/getty@tty1.service");
  const std::string nested = Dir("trading.slice/trading-mm.slice/mm.service");
  const std::string user =
      Dir("user.slice/user-1000.slice/user@1000.service/app.slice/bot.service");
  EXPECT_EQ(FindUnitCgroup(root_, "engine.service", "").value(), engine);
  EXPECT_EQ(FindUnitCgroup(root_, "engine", "").value(), engine);  // .service implied
  EXPECT_EQ(FindUnitCgroup(root_, "mm.service", "").value(), nested);
  EXPECT_EQ(FindUnitCgroup(root_, "bot.service", "").value(), user);
  EXPECT_EQ(FindUnitCgroup(root_, "getty@tty1.service", "").value(),
            root_ + "/system.slice/system-getty.slice/getty@tty1.service");
  // systemd's own answer wins over the walk.
  EXPECT_EQ(
      FindUnitCgroup(root_, "engine.service", "/trading.slice/trading-mm.slice/mm.service").value(),
      nested);
  // An answer that is not in this tree (another hierarchy) falls back to the walk.
  EXPECT_EQ(FindUnitCgroup(root_, "engine.service", "/nowhere/engine.service").value(), engine);
}

TEST_F(Tree, UnitNotRunningOrAmbiguousIsAnErrorThatSaysSo) {
  Dir("system.slice/engine.service");
  auto missing = FindUnitCgroup(root_, "absent.service", "");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().err, ENOENT);
  EXPECT_NE(missing.error().hint.find("systemctl status absent.service"), std::string::npos);
  Dir("machine.slice/engine.service");
  auto two = FindUnitCgroup(root_, "engine.service", "");
  ASSERT_FALSE(two);
  EXPECT_NE(two.error().hint.find("--cgroup"), std::string::npos);
  EXPECT_FALSE(FindUnitCgroup(root_, "system.slice/engine.service", ""));
}

TEST_F(Tree, PodUnderTheSystemdDriverBurstableAndGuaranteed) {
  const std::string pod =
      Dir("kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + kUidSd + ".slice");
  Dir("kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + kUidSd +
      ".slice/cri-containerd-" + kCtr + ".scope");
  Dir("kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-podaaaaaaaa_bbbb.slice");
  EXPECT_EQ(FindPodCgroup(root_, logs_, "trading/engine-0").value(), pod);
  fs::remove_all(root_);
  const std::string guaranteed = Dir("kubepods.slice/kubepods-pod" + kUidSd + ".slice");
  EXPECT_EQ(FindPodCgroup(root_, logs_, "trading/engine-0").value(), guaranteed);
}

TEST_F(Tree, PodUnderTheCgroupfsDriver) {
  const std::string pod = Dir("kubepods/burstable/pod" + kUid);
  Dir("kubepods/burstable/pod" + kUid + "/" + kCtr);
  Dir("kubepods/besteffort/pod" + kOldUid + "x");
  EXPECT_EQ(FindPodCgroup(root_, logs_, "trading/engine-0").value(), pod);
  fs::remove_all(root_);
  const std::string guaranteed = Dir("kubepods/pod" + kUid);
  EXPECT_EQ(FindPodCgroup(root_, logs_, "trading/engine-0").value(), guaranteed);
}

TEST_F(Tree, PodErrorsNameWhatIsWrong) {
  Dir("kubepods/burstable/pod" + kUid);
  EXPECT_EQ(FindPodCgroup(root_, logs_, "trading/absent").error().err, ENOENT);
  EXPECT_EQ(FindPodCgroup(root_, logs_, "trading/engine-1").error().err, ENOENT);  // not running
  EXPECT_EQ(FindPodCgroup(root_, logs_, "engine-0").error().err, EINVAL);
  EXPECT_EQ(FindPodCgroup(root_, logs_, "a/b/c").error().err, EINVAL);
  auto no_logs = FindPodCgroup(root_, base_ + "/no-such-dir", "trading/engine-0");
  ASSERT_FALSE(no_logs);
  EXPECT_NE(no_logs.error().hint.find("on the node"), std::string::npos);
}

TEST_F(Tree, ContainerUnderContainerdAndCrioWithEitherDriver) {
  const std::string pod_sd =
      "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + kUidSd + ".slice/";
  struct Case {
    const char* layout;
    std::string dir;
  } cases[] = {
      {"containerd, systemd driver", pod_sd + "cri-containerd-" + kCtr + ".scope"},
      {"CRI-O, systemd driver", pod_sd + "crio-" + kCtr + ".scope"},
      {"containerd, cgroupfs driver", "kubepods/burstable/pod" + kUid + "/" + kCtr},
      {"CRI-O, cgroupfs driver", "kubepods/burstable/pod" + kUid + "/crio-" + kCtr},
      {"Docker", "system.slice/docker-" + kCtr + ".scope"},
      {"Podman", "machine.slice/libpod-" + kCtr + ".scope"},
  };
  for (const auto& c : cases) {
    fs::remove_all(root_);
    const std::string want = Dir(c.dir);
    // CRI-O's conmon monitor carries the same id and is not the container.
    Dir(pod_sd + "crio-conmon-" + kCtr + ".scope");
    EXPECT_EQ(FindContainerCgroup(root_, kCtr).value(), want) << c.layout;
    EXPECT_EQ(FindContainerCgroup(root_, kCtr.substr(0, 12)).value(), want) << c.layout;
    EXPECT_EQ(FindContainerCgroup(root_, "containerd://" + kCtr).value(), want) << c.layout;
  }
}

TEST_F(Tree, ContainerPrefixMustBeUniqueAndLongEnough) {
  Dir("kubepods/burstable/pod" + kUid + "/" + kCtr);
  Dir("kubepods/burstable/pod" + kUid + "/" + kCtr2);
  EXPECT_EQ(FindContainerCgroup(root_, kCtr.substr(0, 12)).error().err, EEXIST);
  EXPECT_EQ(FindContainerCgroup(root_, kCtr.substr(0, 14)).value(),
            root_ + "/kubepods/burstable/pod" + kUid + "/" + kCtr);
  EXPECT_EQ(FindContainerCgroup(root_, kCtr.substr(0, 8)).error().err, EINVAL);
  EXPECT_EQ(FindContainerCgroup(root_, "not-hex-at-all-here").error().err, EINVAL);
  EXPECT_EQ(FindContainerCgroup(root_, std::string(64, 'e')).error().err, ENOENT);
}

}  // namespace
}  // namespace mmchaos
