#include "ml/feature_schema.h"

#include "ml/artifact.h"

namespace spectre::ml {

const char* const kFeatureNames[kNumFeatures] = {
#define X(name, desc) #name,
#include "schemas/features.def"
#undef X
};

const char* const kFeatureDescriptions[kNumFeatures] = {
#define X(name, desc) desc,
#include "schemas/features.def"
#undef X
};

std::vector<std::string> feature_names() { return {kFeatureNames, kFeatureNames + kNumFeatures}; }

const std::string& schema_hash() {
  static const std::string h = feature_schema_hash(feature_names());
  return h;
}

}  // namespace spectre::ml
