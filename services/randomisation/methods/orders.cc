#include "services/randomisation/methods/orders.h"

#include <algorithm>
#include <numeric>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace fieldwork::randomisation {
namespace {

absl::Status CheckItems(int k) {
  if (k < 1 || k > kMaxOrderItems) {
    return absl::InvalidArgumentError(
        absl::StrCat("items: ", k, " is not between 1 and ", kMaxOrderItems));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<OrderSquare> WilliamsDesign(int k) {
  if (auto s = CheckItems(k); !s.ok()) return s;
  std::vector<int> first(static_cast<std::size_t>(k));
  for (int j = 0; j < k; ++j) {
    // 0, 1, k−1, 2, k−2, ...
    first[static_cast<std::size_t>(j)] = j == 0 ? 0 : (j % 2 == 1 ? (j + 1) / 2 : k - j / 2);
  }
  OrderSquare rows;
  for (int r = 0; r < k; ++r) {
    std::vector<int> row(first.size());
    for (std::size_t j = 0; j < first.size(); ++j) row[j] = (first[j] + r) % k;
    rows.push_back(std::move(row));
  }
  if (k % 2 == 1) {
    for (int r = 0; r < k; ++r) {
      std::vector<int> row = rows[static_cast<std::size_t>(r)];
      std::reverse(row.begin(), row.end());
      rows.push_back(std::move(row));
    }
  }
  return rows;
}

absl::StatusOr<OrderSquare> RandomisedWilliamsSquare(const Generator& gen, int k) {
  auto base = WilliamsDesign(k);
  if (!base.ok()) return base.status();
  Stream stream =
      gen.Open(Context().Add("method", "latin_square").Add("items", static_cast<std::uint64_t>(k)));
  std::vector<int> relabel(static_cast<std::size_t>(k));
  std::iota(relabel.begin(), relabel.end(), 0);
  stream.Shuffle(absl::MakeSpan(relabel));
  std::vector<std::size_t> row_order(base->size());
  std::iota(row_order.begin(), row_order.end(), std::size_t{0});
  stream.Shuffle(absl::MakeSpan(row_order));
  OrderSquare square;
  square.reserve(base->size());
  for (const std::size_t r : row_order) {
    std::vector<int> row;
    row.reserve(static_cast<std::size_t>(k));
    for (const int item : (*base)[r]) row.push_back(relabel[static_cast<std::size_t>(item)]);
    square.push_back(std::move(row));
  }
  return square;
}

const std::vector<int>& OrderForParticipant(const OrderSquare& square, std::uint64_t i) {
  return square[i % square.size()];
}

absl::StatusOr<std::vector<int>> AssignSquareRows(const Generator& gen, int k,
                                                  absl::Span<const Unit> units) {
  if (auto s = ValidateIds(units); !s.ok()) return s;
  auto square = RandomisedWilliamsSquare(gen, k);
  if (!square.ok()) return square.status();
  std::vector<std::size_t> order(units.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(),
            [&](std::size_t a, std::size_t b) { return units[a].id < units[b].id; });
  std::vector<int> out(units.size());
  for (std::size_t j = 0; j < order.size(); ++j) {
    out[order[j]] = static_cast<int>(j % square->size());
  }
  return out;
}

absl::StatusOr<std::vector<std::vector<int>>> RandomOrders(const Generator& gen, int k,
                                                           absl::Span<const Unit> units) {
  if (auto s = CheckItems(k); !s.ok()) return s;
  if (auto s = ValidateIds(units); !s.ok()) return s;
  std::vector<std::vector<int>> out;
  out.reserve(units.size());
  for (const Unit& unit : units) {
    Stream stream = gen.Open(Context()
                                 .Add("method", "random_order")
                                 .Add("items", static_cast<std::uint64_t>(k))
                                 .Add("participant", std::string_view(unit.id)));
    std::vector<int> order(static_cast<std::size_t>(k));
    std::iota(order.begin(), order.end(), 0);
    stream.Shuffle(absl::MakeSpan(order));
    out.push_back(std::move(order));
  }
  return out;
}

}  // namespace fieldwork::randomisation
