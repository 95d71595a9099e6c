// Locates and reads files of the source tree (fixtures, examples) from the unit tests.
#ifndef FIELDWORK_TESTS_UNIT_SURVEY_INGEST_TEST_PATHS_H_
#define FIELDWORK_TESTS_UNIT_SURVEY_INGEST_TEST_PATHS_H_

#include <filesystem>
#include <string>

namespace fieldwork::survey_ingest::testing {

// The repository root: $FIELDWORK_SOURCE_DIR (set by CTest), else the directory three levels
// above this file's (tests/unit/survey_ingest/).
std::filesystem::path SourceDir();

// The whole file as bytes; fails the calling test (and returns "") when it cannot be read.
std::string ReadFileOrFail(const std::filesystem::path& path);

}  // namespace fieldwork::survey_ingest::testing

#endif  // FIELDWORK_TESTS_UNIT_SURVEY_INGEST_TEST_PATHS_H_
