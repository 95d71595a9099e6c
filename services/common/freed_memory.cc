#include "services/common/freed_memory.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace fieldwork {

void ReleaseFreedMemory() {
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}

}  // namespace fieldwork
