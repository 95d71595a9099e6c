// Builds design matrices the way R's model.matrix does for the analyses here: a factor becomes
// treatment-coded dummies (one per level but the reference), named prefix + level.
#ifndef FIELDWORK_SERVICES_ANALYSIS_STATS_DESIGN_H_
#define FIELDWORK_SERVICES_ANALYSIS_STATS_DESIGN_H_

#include <Eigen/Dense>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace fieldwork::analysis {

// A categorical variable: levels[codes[i]] is row i's value; levels[0] is the reference.
struct Factor {
  std::vector<std::string> levels;
  std::vector<int> codes;
};

// Levels in `level_order` when given (every value must be one of them; levels that never occur
// are an error), else sorted as R sorts a factor's levels in the C locale; `reference`, when
// given, is moved first. Errors on empty input or an unknown reference.
absl::StatusOr<Factor> MakeFactor(const std::vector<std::string>& values,
                                  const std::optional<std::string>& reference = std::nullopt,
                                  const std::vector<std::string>& level_order = {});

// The n x (levels - 1) dummies of the non-reference levels, named prefix + level.
Eigen::MatrixXd Dummies(const Factor& factor);
std::vector<std::string> DummyNames(const Factor& factor, const std::string& prefix);

// Appends columns (and their names) to a design.
struct Design {
  Eigen::MatrixXd x;
  std::vector<std::string> names;

  void Append(const Eigen::MatrixXd& columns, const std::vector<std::string>& column_names);
  void Append(const Eigen::VectorXd& column, const std::string& name);
};

}  // namespace fieldwork::analysis

#endif  // FIELDWORK_SERVICES_ANALYSIS_STATS_DESIGN_H_
