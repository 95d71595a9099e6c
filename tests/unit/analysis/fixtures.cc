#include "tests/unit/analysis/fixtures.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>
#include <stdexcept>

namespace fieldwork::analysis::fixtures {
namespace {

std::vector<std::string> SplitCsvLine(const std::string& line) {
  std::vector<std::string> out;
  std::string cur;
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char ch = line[i];
    if (quoted) {
      if (ch == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        cur += '"';
        ++i;
      } else if (ch == '"') {
        quoted = false;
      } else {
        cur += ch;
      }
    } else if (ch == '"') {
      quoted = true;
    } else if (ch == ',') {
      out.push_back(cur);
      cur.clear();
    } else if (ch != '\r') {
      cur += ch;
    }
  }
  out.push_back(cur);
  return out;
}

}  // namespace

std::filesystem::path FixtureDir() {
  if (const char* src = std::getenv("FIELDWORK_SOURCE_DIR"); src != nullptr && *src != '\0') {
    return std::filesystem::path(src) / "tests" / "fixtures" / "analysis";
  }
  return std::filesystem::path(__FILE__).parent_path() / ".." / ".." / "fixtures" / "analysis";
}

Csv Csv::Read(const std::string& file_name) {
  const std::filesystem::path path = FixtureDir() / file_name;
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open fixture " + path.string());
  std::string line;
  std::getline(in, line);
  const std::vector<std::string> header = SplitCsvLine(line);
  Csv csv;
  for (const std::string& h : header) csv.columns_[h];
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const std::vector<std::string> fields = SplitCsvLine(line);
    if (fields.size() != header.size()) {
      throw std::runtime_error("bad row in fixture " + path.string() + ": " + line);
    }
    for (size_t j = 0; j < header.size(); ++j) csv.columns_[header[j]].push_back(fields[j]);
    ++csv.rows_;
  }
  return csv;
}

const std::vector<std::string>& Csv::Strings(const std::string& column) const {
  auto it = columns_.find(column);
  if (it == columns_.end()) throw std::runtime_error("no column " + column);
  return it->second;
}

Eigen::VectorXd Csv::Numbers(const std::string& column) const {
  const std::vector<std::string>& s = Strings(column);
  Eigen::VectorXd v(static_cast<Eigen::Index>(s.size()));
  for (size_t i = 0; i < s.size(); ++i) {
    v(static_cast<Eigen::Index>(i)) =
        s[i] == "NA" ? std::numeric_limits<double>::quiet_NaN() : std::stod(s[i]);
  }
  return v;
}

std::vector<std::int64_t> Csv::Integers(const std::string& column) const {
  std::vector<std::int64_t> out;
  for (const std::string& s : Strings(column)) out.push_back(std::stoll(s));
  return out;
}

const nlohmann::json& Expected() {
  static const nlohmann::json* parsed = [] {
    std::ifstream in(FixtureDir() / "expected.json");
    if (!in) throw std::runtime_error("cannot open expected.json under " + FixtureDir().string());
    return new nlohmann::json(nlohmann::json::parse(in));
  }();
  return *parsed;
}

const nlohmann::json& Expected(const std::string& key) {
  const nlohmann::json& all = Expected();
  if (!all.contains(key)) throw std::runtime_error("expected.json has no case " + key);
  return all.at(key);
}

double Num(const nlohmann::json& value) {
  if (value.is_null()) return std::numeric_limits<double>::quiet_NaN();
  if (value.is_array()) return Num(value.at(0));
  return value.get<double>();
}

std::vector<double> Nums(const nlohmann::json& array) {
  std::vector<double> out;
  if (!array.is_array()) {
    out.push_back(Num(array));
    return out;
  }
  for (const nlohmann::json& v : array) out.push_back(Num(v));
  return out;
}

::testing::AssertionResult Near(double actual, double expected, double tol, double floor) {
  if (std::isnan(expected) && std::isnan(actual)) return ::testing::AssertionSuccess();
  const double scale = std::max(std::fabs(expected), floor);
  if (std::fabs(actual - expected) <= tol * scale) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "actual " << actual << " vs expected " << expected << " (relative difference "
         << std::fabs(actual - expected) / scale << ", tolerance " << tol << ")";
}

void ExpectTableMatches(const OlsFit& fit, const nlohmann::json& e, bool check_vcov) {
  const std::vector<double> est = Nums(e.at("estimate"));
  ASSERT_EQ(fit.coefficients.size(), est.size());
  const std::vector<double> se = Nums(e.at("std_error"));
  const std::vector<double> stat = Nums(e.at("statistic"));
  const std::vector<double> df = Nums(e.at("df"));
  const std::vector<double> p = Nums(e.at("p_value"));
  const std::vector<double> lo = Nums(e.at("conf_low"));
  const std::vector<double> hi = Nums(e.at("conf_high"));
  for (size_t j = 0; j < est.size(); ++j) {
    const Coefficient& c = fit.coefficients[j];
    SCOPED_TRACE("term " + c.term);
    EXPECT_TRUE(Near(c.estimate, est[j], 1e-8));
    EXPECT_TRUE(Near(c.std_error, se[j], 1e-8));
    EXPECT_TRUE(Near(c.statistic, stat[j], 1e-8));
    EXPECT_TRUE(Near(c.df, df[j], 1e-6));
    EXPECT_TRUE(Near(c.p_value, p[j], 1e-8));
    // A CI bound near zero: compare relative to the SE.
    EXPECT_TRUE(Near(c.conf_low, lo[j], 1e-8, std::fabs(se[j])));
    EXPECT_TRUE(Near(c.conf_high, hi[j], 1e-8, std::fabs(se[j])));
  }
  if (e.contains("r_squared") && !std::isnan(fit.r_squared)) {
    EXPECT_TRUE(Near(fit.r_squared, Num(e.at("r_squared")), 1e-8));
    EXPECT_TRUE(Near(fit.adj_r_squared, Num(e.at("adj_r_squared")), 1e-8));
  }
  if (e.contains("nobs")) {
    EXPECT_EQ(fit.n, e.at("nobs").get<std::int64_t>());
  }
  if (check_vcov && e.contains("vcov")) {
    const std::vector<double> v = Nums(e.at("vcov"));
    const auto r = static_cast<size_t>(fit.rank);
    ASSERT_EQ(v.size(), r * r);
    for (size_t i = 0; i < r; ++i) {
      for (size_t j = 0; j < r; ++j) {
        const double scale = std::sqrt(std::fabs(v[i * r + i] * v[j * r + j]));
        EXPECT_TRUE(Near(fit.vcov(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j)),
                         v[i * r + j], 1e-8, scale))
            << "vcov(" << i << "," << j << ")";
      }
    }
  }
}

Eigen::MatrixXd Columns(const Csv& csv, const std::vector<std::string>& names, bool intercept) {
  const auto n = static_cast<Eigen::Index>(csv.rows());
  const Eigen::Index offset = intercept ? 1 : 0;
  Eigen::MatrixXd x(n, static_cast<Eigen::Index>(names.size()) + offset);
  if (intercept) x.col(0).setOnes();
  for (size_t j = 0; j < names.size(); ++j) {
    x.col(static_cast<Eigen::Index>(j) + offset) = csv.Numbers(names[j]);
  }
  return x;
}

}  // namespace fieldwork::analysis::fixtures
