# BPF objects: clang -target bpf (CO-RE, vmlinux.h from the build machine's BTF), linked and
# turned into a skeleton with bpftool. The result is an INTERFACE library `NAME_skel` whose
# include directory holds the skeleton header; nothing generated is committed.
find_program(BPF_CLANG NAMES clang-14 clang REQUIRED)
find_program(BPFTOOL NAMES bpftool PATHS /usr/sbin /sbin REQUIRED)

set(BPF_GEN_DIR ${CMAKE_BINARY_DIR}/bpfgen)

# libbpf's bpf_tracing.h reads uprobe arguments through __TARGET_ARCH_<arch>: derive it from the
# machine being built for, as libbpf-bootstrap does.
string(TOLOWER "${CMAKE_SYSTEM_PROCESSOR}" _proc)
if(_proc MATCHES "^(x86_64|amd64|i.86)$")
  set(BPF_TARGET_ARCH x86)
elseif(_proc MATCHES "^(aarch64|arm64)")
  set(BPF_TARGET_ARCH arm64)
elseif(_proc MATCHES "^(ppc64le|ppc64)$")
  set(BPF_TARGET_ARCH powerpc)
elseif(_proc MATCHES "^(s390x)$")
  set(BPF_TARGET_ARCH s390)
elseif(_proc MATCHES "^riscv64$")
  set(BPF_TARGET_ARCH riscv)
elseif(_proc MATCHES "^loongarch64$")
  set(BPF_TARGET_ARCH loongarch)
else()
  message(FATAL_ERROR "BPF: no __TARGET_ARCH for processor '${CMAKE_SYSTEM_PROCESSOR}'")
endif()
set(VMLINUX_BTF /sys/kernel/btf/vmlinux CACHE FILEPATH "BTF used to generate vmlinux.h")

add_custom_command(
  OUTPUT ${BPF_GEN_DIR}/vmlinux.h
  COMMAND ${CMAKE_COMMAND} -E make_directory ${BPF_GEN_DIR}
  COMMAND ${BPFTOOL} btf dump file ${VMLINUX_BTF} format c > ${BPF_GEN_DIR}/vmlinux.h
  COMMENT "Generating vmlinux.h from ${VMLINUX_BTF}"
  VERBATIM)
add_custom_target(vmlinux_h DEPENDS ${BPF_GEN_DIR}/vmlinux.h)

# bpf_object(NAME SOURCES src... [DEPENDS headers...]): each source is compiled on its own and
# `bpftool gen object` links them into NAME.bpf.o (shared maps are defined in one source and
# declared extern in the others), then NAME.skel.h is generated.
function(bpf_object name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPENDS" ${ARGN})
  set(objs)
  foreach(src ${ARG_SOURCES})
    get_filename_component(stem ${src} NAME_WE)
    set(o ${BPF_GEN_DIR}/${stem}.o)
    add_custom_command(
      OUTPUT ${o}
      COMMAND ${BPF_CLANG} -g -O2 -target bpf -D__TARGET_ARCH_${BPF_TARGET_ARCH} -Wall -Werror
              -I${BPF_GEN_DIR} -I${CMAKE_SOURCE_DIR}/bpf -c ${src} -o ${o}
      # The target, not the file: vmlinux.h is generated in the top directory, and only Ninja
      # lets another directory's rule depend on a generated file by path (Unix Makefiles fail
      # with "No rule to make target"); a target-level dependency works with every generator.
      DEPENDS ${src} ${ARG_DEPENDS} vmlinux_h
      COMMENT "BPF ${stem}"
      VERBATIM)
    list(APPEND objs ${o})
  endforeach()
  set(obj ${BPF_GEN_DIR}/${name}.bpf.o)
  set(skel ${BPF_GEN_DIR}/${name}.skel.h)
  add_custom_command(
    OUTPUT ${obj}
    COMMAND ${BPFTOOL} gen object ${obj} ${objs}
    DEPENDS ${objs}
    COMMENT "BPF link ${name}.bpf.o"
    VERBATIM)
  add_custom_command(
    OUTPUT ${skel}
    COMMAND ${BPFTOOL} gen skeleton ${obj} name ${name} > ${skel}
    DEPENDS ${obj}
    COMMENT "Skeleton ${name}.skel.h"
    VERBATIM)
  add_custom_target(${name}_skel_gen DEPENDS ${skel})
  add_library(${name}_skel INTERFACE)
  add_dependencies(${name}_skel ${name}_skel_gen)
  target_include_directories(${name}_skel INTERFACE ${BPF_GEN_DIR} ${CMAKE_SOURCE_DIR}/bpf)
  target_link_libraries(${name}_skel INTERFACE PkgConfig::LIBBPF)
endfunction()
