// Reads the committed reference data and R's expected values (tests/fixtures/analysis) and
// compares numbers with the agreement the issue sets (relative for estimates, SEs and p).
#ifndef FIELDWORK_TESTS_UNIT_ANALYSIS_FIXTURES_H_
#define FIELDWORK_TESTS_UNIT_ANALYSIS_FIXTURES_H_

#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "services/analysis/stats/ols.h"

namespace fieldwork::analysis::fixtures {

// tests/fixtures/analysis, from FIELDWORK_SOURCE_DIR (set by CTest) or relative to this file.
std::filesystem::path FixtureDir();

// A CSV file as written by R's write.csv: a header, quoted strings, "NA" for missing.
class Csv {
 public:
  static Csv Read(const std::string& file_name);
  size_t rows() const { return rows_; }
  const std::vector<std::string>& Strings(const std::string& column) const;
  Eigen::VectorXd Numbers(const std::string& column) const;  // "NA" -> NaN
  std::vector<std::int64_t> Integers(const std::string& column) const;

 private:
  size_t rows_ = 0;
  std::map<std::string, std::vector<std::string>> columns_;
};

// expected.json, parsed once.
const nlohmann::json& Expected();
const nlohmann::json& Expected(const std::string& key);

// NaN for null.
double Num(const nlohmann::json& value);
std::vector<double> Nums(const nlohmann::json& array);

// |actual - expected| <= tol * max(|expected|, floor); both NaN/null counts as equal.
::testing::AssertionResult Near(double actual, double expected, double tol, double floor = 1e-300);

// Compares a coefficient table with an estimatr table (terms matched in order; R's names
// need not equal ours). Tolerances: estimates, SEs, statistics, CIs and p 1e-8 relative,
// df 1e-6 relative.
void ExpectTableMatches(const OlsFit& fit, const nlohmann::json& expected, bool check_vcov = true);

// Design helpers for the tests.
Eigen::MatrixXd Columns(const Csv& csv, const std::vector<std::string>& names,
                        bool intercept = true);

}  // namespace fieldwork::analysis::fixtures

#endif  // FIELDWORK_TESTS_UNIT_ANALYSIS_FIXTURES_H_
