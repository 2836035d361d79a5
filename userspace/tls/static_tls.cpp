#include "tls/static_tls.h"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <memory>
#include <string_view>

#include "common/fd.h"
#include "uprobe/elf_symbol.h"
#include "uprobe/process_uprobes.h"

namespace mmchaos {
namespace {

// What a defined function's name says about a TLS stack built in, or "".
std::string KindOfSymbol(std::string_view name) {
  if (name == "SSL_read" || name == "SSL_read_ex" || name == "SSL_write")
    return "OpenSSL or BoringSSL linked statically";
  if (name.starts_with("crypto/tls.(*Conn).Read")) return "Go's crypto/tls";
  if (name.find("rustls") != std::string_view::npos &&
      name.find("ConnectionCommon") != std::string_view::npos)
    return "rustls";
  return {};
}

bool Holds(Elf_Data* d, std::string_view needle) {
  if (!d || !d->d_buf) return false;
  return memmem(d->d_buf, d->d_size, needle.data(), needle.size()) != nullptr;
}

// The executable's own name for a process (its /proc/PID/exe link), for messages.
std::string ExeName(pid_t pid) {
  char buf[4096];
  const std::string link = "/proc/" + std::to_string(pid) + "/exe";
  ssize_t n = readlink(link.c_str(), buf, sizeof(buf) - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : link;
}

// The TLS libraries other than OpenSSL's that pid maps, and whether it maps libssl.so.
std::string OtherTlsLibraries(pid_t pid, bool& libssl) {
  std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
  std::string line, other;
  libssl = false;
  while (std::getline(maps, line)) {
    auto slash = line.rfind('/');
    if (slash == std::string::npos) continue;
    const std::string base = line.substr(slash + 1);
    std::string kind;
    if (base.starts_with("libssl.so")) libssl = true;
    if (base.starts_with("libgnutls.so")) kind = "GnuTLS";
    if (base.starts_with("libnss3.so")) kind = "NSS";
    if (base.starts_with("libwolfssl.so")) kind = "wolfSSL";
    const std::string item = base + " (" + kind + ")";
    if (!kind.empty() && other.find(item) == std::string::npos)
      other += (other.empty() ? "" : ", ") + item;
  }
  return other;
}

}  // namespace

std::string BuiltInTls(const std::string& path) {
  if (elf_version(EV_CURRENT) == EV_NONE) return {};
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return {};
  std::unique_ptr<Elf, ElfDeleter> elf(elf_begin(fd.get(), ELF_C_READ_MMAP, nullptr));
  if (!elf || elf_kind(elf.get()) != ELF_K_ELF) return {};
  size_t shstrndx = 0;
  if (elf_getshdrstrndx(elf.get(), &shstrndx) != 0) return {};
  std::string kind;
  if (ForEachFunction(elf.get(), true, [&](const char* name, const GElf_Sym&) {
        kind = KindOfSymbol(name);
        return !kind.empty();
      }))
    return kind;
  // Stripped: Go keeps its function names in .gopclntab, rustls its source paths in panics.
  Elf_Scn* scn = nullptr;
  while ((scn = elf_nextscn(elf.get(), scn)) != nullptr) {
    GElf_Shdr sh;
    if (!gelf_getshdr(scn, &sh)) continue;
    const char* secname = elf_strptr(elf.get(), shstrndx, sh.sh_name);
    const std::string_view sec = secname ? secname : "";
    if (sec == ".gopclntab" && Holds(elf_getdata(scn, nullptr), "crypto/tls.(*Conn).Read"))
      return "Go's crypto/tls";
    if (sec == ".rodata" && Holds(elf_getdata(scn, nullptr), "/rustls-")) return "rustls";
  }
  return {};
}

TlsReach TlsReachIn(const std::string& cgroup) {
  TlsReach r;
  for (pid_t pid : CgroupPids(cgroup)) {
    bool libssl = false;
    const std::string other = OtherTlsLibraries(pid, libssl);
    if (libssl) {
      r.libssl.push_back(pid);
      continue;
    }
    const std::string who = "pid " + std::to_string(pid) + " (" + ProcessComm(pid) + ")";
    const std::string exe = ExeName(pid);
    // Read through /proc/PID/exe: a container's executable as that process runs it.
    if (std::string kind = BuiltInTls("/proc/" + std::to_string(pid) + "/exe"); !kind.empty())
      r.out.push_back(who + ": " + kind + " built into " + exe + ", and no libssl.so mapped");
    else if (!other.empty())
      r.out.push_back(who + ": maps " + other + ", not OpenSSL's libssl.so");
  }
  return r;
}

}  // namespace mmchaos
