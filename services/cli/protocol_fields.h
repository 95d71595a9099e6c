// Reading one field of a protocol file: the helpers every section parser shares. Each fails
// with the field's path ("campaigns[1].steps[3].template") and the reason by throwing
// ProtocolError, which ParseProtocol turns into one INVALID_ARGUMENT naming the file.
#ifndef FIELDWORK_SERVICES_CLI_PROTOCOL_FIELDS_H_
#define FIELDWORK_SERVICES_CLI_PROTOCOL_FIELDS_H_

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include <google/protobuf/duration.pb.h>
#include <google/protobuf/timestamp.pb.h>
#include <yaml-cpp/yaml.h>

namespace fieldwork::cli {

// Thrown inside the parser and turned into one INVALID_ARGUMENT at its boundary, so that every
// helper can fail with the field path without threading statuses through yaml-cpp callbacks.
struct ProtocolError {
  std::string field;
  std::string reason;
};

[[noreturn]] void Fail(const std::string& field, const std::string& reason);

// Fails on a key of the map `node` that is not in `known` (nothing when `node` is not a map).
void CheckKeys(const YAML::Node& node, const std::string& at, std::initializer_list<const char*> known);
// Fails unless `node` is absent or a map.
void RequireMap(const YAML::Node& node, const std::string& at);
// Fails unless `node` is absent or a list.
void RequireList(const YAML::Node& node, const std::string& at);

std::string Scalar(const YAML::Node& node, const std::string& field, bool required = true);
int64_t Integer(const YAML::Node& node, const std::string& field, int64_t fallback);
double Number(const YAML::Node& node, const std::string& field, double fallback);
bool Boolean(const YAML::Node& node, const std::string& field);
std::vector<std::string> Strings(const YAML::Node& node, const std::string& field);
// An RFC 3339 time ("2021-01-04T09:00:00Z"); required.
google::protobuf::Timestamp Time(const YAML::Node& node, const std::string& field);
// A duration written as whole units: "0", "7d", "36h", "1w", "1d12h", "90m", "30s".
google::protobuf::Duration Duration(const YAML::Node& node, const std::string& field);
// One of `names`: its position in the list.
size_t OneOf(const YAML::Node& node, const std::string& field, const std::vector<std::string>& names);

}  // namespace fieldwork::cli

#endif  // FIELDWORK_SERVICES_CLI_PROTOCOL_FIELDS_H_
