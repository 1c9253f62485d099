# Vulkan compute shaders -> SPIR-V at build time (host glslc), validated with spirv-val, embedded
# in the library as uint32 arrays by this same file run as a CMake script (no host C++ tool, so
# cross builds only need a host glslc).
#
# Included:  qgpu_vulkan_shader(<target> <name> <source> [DEFINES ...] [DEPENDS ...]) compiles one
#            variant and adds the generated .cpp (defining qgpu::vulkan::spirv_<name>[] and its
#            word count) to <target>, which must be defined in the calling directory (custom
#            command outputs attach to targets of their own directory only).
# As script: cmake -DSPV=<file.spv> -DNAME=<name> -DOUT=<file.cpp> -P vulkan_shaders.cmake

if(CMAKE_SCRIPT_MODE_FILE AND NOT CMAKE_PARENT_LIST_FILE)
  file(READ "${SPV}" hex HEX)
  string(LENGTH "${hex}" len)
  math(EXPR rem "${len} % 8")
  if(len EQUAL 0 OR NOT rem EQUAL 0)
    message(FATAL_ERROR "${SPV}: not a SPIR-V module (size ${len} hex digits)")
  endif()
  math(EXPR words "${len} / 8")
  # SPIR-V words are little-endian in the file: bytes b0 b1 b2 b3 -> 0xb3b2b1b0
  string(REGEX REPLACE "(..)(..)(..)(..)" "0x\\4\\3\\2\\1u," body "${hex}")
  string(REGEX REPLACE "((0x[0-9a-f]+u,){8})" "\\1\n    " body "${body}")
  file(WRITE "${OUT}.tmp"
    "// Generated from ${SPV} by cmake/vulkan_shaders.cmake. Do not edit.\n"
    "#include <cstddef>\n#include <cstdint>\n"
    "namespace qgpu {\nnamespace vulkan {\n"
    "extern const uint32_t spirv_${NAME}[];\nextern const size_t spirv_${NAME}_words;\n"
    "const uint32_t spirv_${NAME}[] = {\n    ${body}\n};\n"
    "const size_t spirv_${NAME}_words = ${words};\n"
    "}  // namespace vulkan\n}  // namespace qgpu\n")
  file(RENAME "${OUT}.tmp" "${OUT}")
  return()
endif()

find_program(QGPU_GLSLC glslc)
find_program(QGPU_SPIRV_VAL spirv-val)
if(NOT QGPU_GLSLC)
  message(FATAL_ERROR "qgpu: the Vulkan backend needs glslc at build time (Debian: apt-get install glslc), "
                      "or configure with -DQGPU_WITH_VULKAN=OFF")
endif()
set(QGPU_VULKAN_SHADERS_SCRIPT "${CMAKE_CURRENT_LIST_FILE}")
# SPIR-V 1.3 (Vulkan 1.1): runs on every Vulkan 1.1+ device without maintenance4 (glslc's
# vulkan1.3 target emits LocalSizeId); the dot-product variant adds SPV_KHR_integer_dot_product.
set(QGPU_SPIRV_ENV vulkan1.1)

function(qgpu_vulkan_shader target name source)
  cmake_parse_arguments(ARG "" "" "DEFINES;DEPENDS" ${ARGN})
  set(dir "${CMAKE_CURRENT_BINARY_DIR}/spirv")
  file(MAKE_DIRECTORY "${dir}")
  set(spv "${dir}/${name}.spv")
  set(cpp "${dir}/${name}.spv.cpp")
  set(defs "")
  foreach(d ${ARG_DEFINES})
    list(APPEND defs "-D${d}")
  endforeach()
  set(validate "")
  if(QGPU_SPIRV_VAL)
    set(validate COMMAND ${QGPU_SPIRV_VAL} --target-env ${QGPU_SPIRV_ENV} "${spv}")
  endif()
  add_custom_command(OUTPUT "${spv}" "${cpp}"
    COMMAND ${QGPU_GLSLC} -fshader-stage=compute --target-env=${QGPU_SPIRV_ENV} -O -Werror
            ${defs} -o "${spv}" "${source}"
    ${validate}
    COMMAND ${CMAKE_COMMAND} -DSPV=${spv} -DNAME=${name} -DOUT=${cpp} -P ${QGPU_VULKAN_SHADERS_SCRIPT}
    MAIN_DEPENDENCY "${source}"
    DEPENDS ${ARG_DEPENDS} ${QGPU_VULKAN_SHADERS_SCRIPT}
    COMMENT "SPIR-V ${name} (glslc, spirv-val, embed)"
    VERBATIM)
  target_sources(${target} PRIVATE "${cpp}")
endfunction()
