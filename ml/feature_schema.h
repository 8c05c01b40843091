// The per-flow feature schema (schemas/features.def) as C++: ids, names,
// descriptions and the schema hash shared by training (CSV headers) and
// scoring (the data plane refuses a model whose hash differs).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace spectre::ml {

enum FeatureId : uint16_t {
#define X(name, desc) kF_##name,
#include "schemas/features.def"
#undef X
  kNumFeatures
};

extern const char* const kFeatureNames[kNumFeatures];
extern const char* const kFeatureDescriptions[kNumFeatures];

// Names in schema order.
std::vector<std::string> feature_names();
// sha256 hex of the names, one per line (= feature_schema_hash(feature_names())).
const std::string& schema_hash();

}  // namespace spectre::ml
