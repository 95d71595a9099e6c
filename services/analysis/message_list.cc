#include "services/analysis/message_list.h"

#include <sys/mman.h>

#include <cstdint>
#include <new>

namespace fieldwork::analysis {
namespace {

constexpr size_t kHugePage = size_t{2} << 20;

// A block mapped on its own, 2 MiB-aligned when it is a multiple of 2 MiB (a huge page can
// only back an aligned 2 MiB range), and advised as huge pages; unmapped when the arena goes,
// so its memory is back with the system at once (no malloc_trim needed).
void* MapBlock(size_t size) {
  const bool huge = size % kHugePage == 0;
  const size_t mapped = huge ? size + kHugePage : size;
  void* p = mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  if (!huge) return p;
  const auto start = reinterpret_cast<uintptr_t>(p);
  const uintptr_t aligned = (start + kHugePage - 1) & ~(kHugePage - 1);
  if (aligned > start) munmap(p, aligned - start);
  const uintptr_t end = start + mapped;
  if (end > aligned + size) munmap(reinterpret_cast<void*>(aligned + size), end - aligned - size);
  madvise(reinterpret_cast<void*>(aligned), size, MADV_HUGEPAGE);  // advice: may be refused
  return reinterpret_cast<void*>(aligned);
}

void UnmapBlock(void* p, size_t size) { munmap(p, size); }

}  // namespace

std::unique_ptr<google::protobuf::Arena> NewListArena(char* first_block, size_t first_block_size) {
  google::protobuf::ArenaOptions options;
  options.initial_block = first_block;
  options.initial_block_size = first_block_size;
  // Blocks double from 64 KiB (a short list, e.g. a trial without outcomes, costs little) to
  // 2 MiB, the size of every block after: a whole trial is then mostly huge pages.
  options.start_block_size = size_t{64} << 10;
  options.max_block_size = kHugePage;
  options.block_alloc = MapBlock;
  options.block_dealloc = UnmapBlock;
  return std::make_unique<google::protobuf::Arena>(options);
}

}  // namespace fieldwork::analysis
