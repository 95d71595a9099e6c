// Giving memory freed by a large call back to the operating system.
#ifndef FIELDWORK_SERVICES_COMMON_FREED_MEMORY_H_
#define FIELDWORK_SERVICES_COMMON_FREED_MEMORY_H_

namespace fieldwork {

// Returns the free pages of every glibc malloc arena to the kernel (malloc_trim(0)); a no-op
// elsewhere. For the end of a call that built and freed hundreds of MB (the analysis service's
// join of a whole trial): glibc gives each of gRPC's many threads an arena of its own (up to 8
// per core) and keeps what is freed in it, so each call running on another thread added its
// whole peak to the resident size. Measured on a run.sh stack with 100,000 participants (issue
// 18, bench/cli): fieldwork-analysis at 1,066 MB after three `status` and three `analyse`
// calls, 163 MB after one malloc_trim(0) from gdb; malloc_stats() then showed 14 arenas with
// 1,110 MB from the system and 129 MB in use; with this call after each Analyse, 55-89 MB after
// the same six calls. The price: the next call faults its memory in again (page faults were
// about a fifth of the service's CPU in an Analyse under perf). Call it after large calls only.
void ReleaseFreedMemory();

// Lets glibc malloc use at most `arenas` arenas (mallopt M_ARENA_MAX); a no-op elsewhere. Call
// it first thing in main, before any thread allocates. Why: malloc_trim returns only the free
// pages inside each arena and the free top of the main one; a thread arena keeps its freed top
// resident up to glibc's trim threshold, which grows with the largest block freed (up to 64 MB).
// With an arena per gRPC thread, fieldwork-analysis on the bench/cli stack held 46 MB after the
// first of fourteen cold calls (`status` and `analyse`) and 121 MB after the last (1.1 MB of it
// in use, malloc_stats from gdb); with two arenas (one per core of that machine) it was back at
// 23-24 MB after each call, its CPU per call unchanged (1.04-1.79 s against 1.05-1.66 s,
// 6 Dec 2026). Fewer arenas than threads that allocate at once make them wait on each other.
void LimitMallocArenas(int arenas);

}  // namespace fieldwork

#endif  // FIELDWORK_SERVICES_COMMON_FREED_MEMORY_H_
