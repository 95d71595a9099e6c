// ReleaseFreedMemory gives back what a thread freed in its own malloc arena: the analysis
// service's case (issue 18), where each Analyse call's join was kept after it by glibc.
#include "services/common/freed_memory.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace fieldwork {
namespace {

// VmRSS of this process in kB.
int64_t ResidentKb() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtoll(line.c_str() + 6, nullptr, 10);
  }
  return -1;
}

// Only glibc's malloc keeps per-thread arenas for malloc_trim to release (ASan has its own).
#if defined(__SANITIZE_ADDRESS__) || !defined(__GLIBC__)
constexpr bool kGlibcMalloc = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kGlibcMalloc = false;
#else
constexpr bool kGlibcMalloc = true;
#endif
#else
constexpr bool kGlibcMalloc = true;
#endif

TEST(FreedMemoryTest, GivesBackWhatAnotherThreadFreed) {
  if (!kGlibcMalloc) GTEST_SKIP() << "not glibc's malloc";
  constexpr size_t kBlocks = 256 * 1024;
  constexpr size_t kBlockBytes = 512;  // 128 MiB in all, in small blocks as a join's protos
  std::vector<void*> kept;
  // A thread of its own gets an arena of its own, as each gRPC handler thread does. One block
  // in 64 stays allocated (as the service keeps a little of each call), so the arena cannot
  // simply shrink from its end.
  std::thread worker([&] {
    std::vector<void*> blocks(kBlocks);
    for (void*& block : blocks) {
      block = std::malloc(kBlockBytes);
      std::memset(block, 1, kBlockBytes);  // resident
    }
    for (size_t i = 0; i < kBlocks; ++i) {
      if (i % 64 == 0) {
        kept.push_back(blocks[i]);
      } else {
        std::free(blocks[i]);
      }
    }
  });
  worker.join();
  const int64_t before = ResidentKb();
  ReleaseFreedMemory();
  const int64_t after = ResidentKb();
  for (void* block : kept) std::free(block);
  // Of the ~126 MiB freed, at least half is given back (without the trim, none is).
  EXPECT_LT(after, before - 64 * 1024) << "VmRSS " << before << " kB -> " << after << " kB";
}

}  // namespace
}  // namespace fieldwork
