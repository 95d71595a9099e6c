// ReleaseFreedMemory gives back what a thread freed in its own malloc arena: the analysis
// service's case (issue 18), where each Analyse call's join was kept after it by glibc; and
// LimitMallocArenas keeps many threads to that many arenas.
#include "services/common/freed_memory.h"

#include <gtest/gtest.h>
#include <malloc.h>
#include <sys/wait.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
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

// The malloc arenas this process has: the <heap nr="..."> entries of malloc_info (the main
// arena among them).
int ArenaCount() {
  char* text = nullptr;
  size_t size = 0;
  FILE* out = open_memstream(&text, &size);
  malloc_info(0, out);
  std::fclose(out);
  int heaps = 0;
  for (const char* at = text; (at = std::strstr(at, "<heap nr=")) != nullptr; ++at) ++heaps;
  std::free(text);
  return heaps;
}

// Eight threads that each allocate while all the others hold what they allocated (a thread
// that has ended hands its arena to the next), in a fresh process (a death test's child,
// re-executed, so that no earlier test's threads left arenas behind); exits with the number of
// arenas there are after them.
[[noreturn]] void ExitWithArenasAfterEightThreads(int limit) {
  if (limit > 0) LimitMallocArenas(limit);
  std::vector<std::thread> threads;
  std::atomic<int> holding{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      void* block = std::malloc(1 << 16);
      ++holding;
      while (holding < 8) std::this_thread::yield();
      std::free(block);
    });
  }
  for (std::thread& thread : threads) thread.join();
  std::exit(ArenaCount());
}

TEST(FreedMemoryTest, LimitMallocArenasKeepsThreadsToThatManyArenas) {
  if (!kGlibcMalloc) GTEST_SKIP() << "not glibc's malloc";
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(ExitWithArenasAfterEightThreads(2), ::testing::ExitedWithCode(2), "");
  // Without the limit glibc gives each thread one of its own (up to 8 a core): the limit is
  // what holds it.
  EXPECT_EXIT(
      ExitWithArenasAfterEightThreads(0),
      [](int status) { return WIFEXITED(status) && WEXITSTATUS(status) > 2; }, "");
}

}  // namespace
}  // namespace fieldwork
