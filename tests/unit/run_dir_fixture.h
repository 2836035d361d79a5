// A test's own run directory ($MMCHAOS_RUN_DIR, controller/registry.h): made in SetUp, removed
// with everything in it in TearDown, so records are written and read nowhere near /run/mmchaos.
#pragma once

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace mmchaos {

class PrivateRunDir : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/mmchaos-rundir-XXXXXX";
    root_ = ::mkdtemp(tmpl);
    run_ = root_ + "/run";
    ASSERT_EQ(::mkdir(run_.c_str(), 0755), 0);
    ASSERT_EQ(setenv("MMCHAOS_RUN_DIR", run_.c_str(), 1), 0);
  }
  void TearDown() override {
    unsetenv("MMCHAOS_RUN_DIR");
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  }
  // A file in the run directory with this text, as a crash or another program left it.
  std::string Put(const std::string& name, const std::string& text) {
    std::string p = run_ + "/" + name;
    std::ofstream(p, std::ios::binary | std::ios::trunc) << text;
    return p;
  }
  std::string root_, run_;
};

}  // namespace mmchaos
