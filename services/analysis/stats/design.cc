#include "services/analysis/stats/design.h"

#include <algorithm>
#include <map>
#include <set>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace fieldwork::analysis {

absl::StatusOr<Factor> MakeFactor(const std::vector<std::string>& values,
                                  const std::optional<std::string>& reference,
                                  const std::vector<std::string>& level_order) {
  if (values.empty()) return absl::InvalidArgumentError("factor: no values");
  Factor f;
  const std::set<std::string> present(values.begin(), values.end());
  if (level_order.empty()) {
    f.levels.assign(present.begin(), present.end());
  } else {
    f.levels = level_order;
    const std::set<std::string> listed(level_order.begin(), level_order.end());
    if (listed.size() != level_order.size()) {
      return absl::InvalidArgumentError("factor: a level is listed twice");
    }
    for (const std::string& v : present) {
      if (listed.count(v) == 0) {
        return absl::InvalidArgumentError(absl::StrCat("factor: value '", v, "' is not a level"));
      }
    }
    for (const std::string& l : level_order) {
      if (present.count(l) == 0) {
        return absl::InvalidArgumentError(absl::StrCat("factor: level '", l, "' has no rows"));
      }
    }
  }
  if (reference.has_value()) {
    auto it = std::find(f.levels.begin(), f.levels.end(), *reference);
    if (it == f.levels.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("factor: reference level '", *reference, "' has no rows"));
    }
    std::rotate(f.levels.begin(), it, it + 1);
  }
  std::map<std::string, int> code_of;
  for (size_t i = 0; i < f.levels.size(); ++i) code_of[f.levels[i]] = static_cast<int>(i);
  f.codes.reserve(values.size());
  for (const std::string& v : values) f.codes.push_back(code_of[v]);
  return f;
}

Eigen::MatrixXd Dummies(const Factor& factor) {
  const auto n = static_cast<Eigen::Index>(factor.codes.size());
  const auto k = static_cast<Eigen::Index>(factor.levels.size()) - 1;
  Eigen::MatrixXd d = Eigen::MatrixXd::Zero(n, std::max<Eigen::Index>(k, 0));
  for (Eigen::Index i = 0; i < n; ++i) {
    const int c = factor.codes[static_cast<size_t>(i)];
    if (c > 0) d(i, c - 1) = 1.0;
  }
  return d;
}

std::vector<std::string> DummyNames(const Factor& factor, const std::string& prefix) {
  std::vector<std::string> names;
  for (size_t i = 1; i < factor.levels.size(); ++i) names.push_back(prefix + factor.levels[i]);
  return names;
}

void Design::Append(const Eigen::MatrixXd& columns, const std::vector<std::string>& column_names) {
  if (columns.cols() == 0) return;
  if (x.cols() == 0) {
    x = columns;
  } else {
    Eigen::MatrixXd grown(x.rows(), x.cols() + columns.cols());
    grown << x, columns;
    x = std::move(grown);
  }
  names.insert(names.end(), column_names.begin(), column_names.end());
}

void Design::Append(const Eigen::VectorXd& column, const std::string& name) {
  Append(Eigen::MatrixXd(column), std::vector<std::string>{name});
}

}  // namespace fieldwork::analysis
