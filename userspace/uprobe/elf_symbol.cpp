#include "uprobe/elf_symbol.h"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>

#include <filesystem>
#include <fstream>
#include <memory>

#include "common/fd.h"

namespace mmchaos {
namespace {

// Virtual address -> file offset through the loadable segment that holds it.
Result<size_t> VaddrToOffset(Elf* elf, GElf_Addr addr, const std::string& where) {
  size_t n = 0;
  if (elf_getphdrnum(elf, &n) != 0) return Fail("elf_getphdrnum(" + where + ")", 0, elf_errmsg(-1));
  for (size_t i = 0; i < n; ++i) {
    GElf_Phdr ph;
    if (!gelf_getphdr(elf, static_cast<int>(i), &ph) || ph.p_type != PT_LOAD) continue;
    if (addr >= ph.p_vaddr && addr < ph.p_vaddr + ph.p_memsz)
      return static_cast<size_t>(addr - ph.p_vaddr + ph.p_offset);
  }
  return Fail("map " + where + " to a file offset", ENOENT, "no loadable segment holds it");
}

}  // namespace

bool ForEachFunction(Elf* elf, bool full,
                     const std::function<bool(const char* name, const GElf_Sym& sym)>& fn) {
  Elf_Scn* scn = nullptr;
  while ((scn = elf_nextscn(elf, scn)) != nullptr) {
    GElf_Shdr sh;
    if (!gelf_getshdr(scn, &sh) || sh.sh_entsize == 0) continue;
    if (sh.sh_type != SHT_DYNSYM && !(full && sh.sh_type == SHT_SYMTAB)) continue;
    Elf_Data* data = elf_getdata(scn, nullptr);
    if (!data) continue;
    const size_t count = sh.sh_size / sh.sh_entsize;
    for (size_t i = 0; i < count; ++i) {
      GElf_Sym s;
      if (!gelf_getsym(data, static_cast<int>(i), &s)) break;
      if (GELF_ST_TYPE(s.st_info) != STT_FUNC || s.st_shndx == SHN_UNDEF) continue;
      const char* name = elf_strptr(elf, sh.sh_link, s.st_name);
      if (name && fn(name, s)) return true;
    }
  }
  return false;
}

Result<size_t> FuncOffset(const std::string& path, const std::string& name) {
  if (elf_version(EV_CURRENT) == EV_NONE) return Fail("elf_version", 0, elf_errmsg(-1));
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return Fail("open(" + path + ")", errno);
  std::unique_ptr<Elf, ElfDeleter> elf(elf_begin(fd.get(), ELF_C_READ_MMAP, nullptr));
  if (!elf || elf_kind(elf.get()) != ELF_K_ELF)
    return Fail("elf_begin(" + path + ")", EINVAL, "not an ELF shared object");
  Result<size_t> found = Fail("find " + name + " in " + path, ENOENT,
                              "no such function in the dynamic symbol table (an IFUNC or a "
                              "static library?)");
  ForEachFunction(elf.get(), false, [&](const char* sym, const GElf_Sym& s) {
    if (s.st_value == 0 || name != sym) return false;
    found = VaddrToOffset(elf.get(), s.st_value, path + ":" + name);
    return true;
  });
  return found;
}

std::string MappedLibrary(pid_t pid, const std::string& soname) {
  const std::string proc = "/proc/" + std::to_string(pid);
  std::ifstream maps(proc + "/maps");
  std::string line;
  while (std::getline(maps, line)) {
    auto slash = line.find('/');
    if (slash == std::string::npos) continue;
    std::string path = line.substr(slash);
    if (path.substr(path.rfind('/') + 1) != soname) continue;
    std::string via_root = proc + "/root" + path;
    std::error_code ec;
    if (std::filesystem::exists(via_root, ec)) return via_root;
  }
  return {};
}

std::string HostLibrary(const std::string& soname) {
  std::error_code ec;
  for (const char* dir :
       {"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu",
        "/usr/lib/aarch64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib"}) {
    std::string p = std::string(dir) + "/" + soname;
    if (std::filesystem::exists(p, ec)) return p;
  }
  return {};
}

}  // namespace mmchaos
