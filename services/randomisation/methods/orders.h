// Counterbalanced orders: balanced Latin squares (Williams designs) and random orders.
#ifndef FIELDWORK_SERVICES_RANDOMISATION_METHODS_ORDERS_H_
#define FIELDWORK_SERVICES_RANDOMISATION_METHODS_ORDERS_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "services/randomisation/methods/generator.h"
#include "services/randomisation/methods/types.h"

namespace fieldwork::randomisation {

// A square of orders: rows[r] is an order (a permutation of the item indices 0..k-1).
using OrderSquare = std::vector<std::vector<int>>;

inline constexpr int kMaxOrderItems = 1000;

// The Williams design over k items (1 <= k <= kMaxOrderItems): first row 0, 1, k−1, 2, k−2,
// 3, ...; row r adds r to every entry mod k. For even k the k rows are a balanced Latin square
// (every item once in every position, every item immediately followed by every other item
// once); for odd k the square is followed by its k rows reversed (2k rows), which balances
// the pairs over the 2k rows.
absl::StatusOr<OrderSquare> WilliamsDesign(int k);

// The Williams design with its items relabelled by a random permutation and its rows put in
// a random order, both drawn from the stream keyed ("method", "latin_square"), ("items", k).
// Relabelling and reordering keep the balance.
absl::StatusOr<OrderSquare> RandomisedWilliamsSquare(const Generator& gen, int k);

// Participant i (0-based) gets row i mod rows.
const std::vector<int>& OrderForParticipant(const OrderSquare& square, std::uint64_t i);

// Batch form: units sorted by participant id (bytes), the j-th gets row j mod rows of the
// randomised square. result[i] is the row index for units[i].
absl::StatusOr<std::vector<int>> AssignSquareRows(const Generator& gen, int k,
                                                  absl::Span<const Unit> units);

// An independent random order of k items (k sub-experiments, say) for each unit, keyed by
// ("method", "random_order"), ("items", k), ("participant", id). result[i] is units[i]'s order.
absl::StatusOr<std::vector<std::vector<int>>> RandomOrders(const Generator& gen, int k,
                                                           absl::Span<const Unit> units);

}  // namespace fieldwork::randomisation

#endif  // FIELDWORK_SERVICES_RANDOMISATION_METHODS_ORDERS_H_
