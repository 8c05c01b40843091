// Shared by the feed readers (not part of the public API).
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "dataplane/intel/intel.h"

namespace spectre::intel {

// Fills type, value and key (or address); false with `why` for a bad value.
bool set_value(Indicator& i, Type t, std::string_view v, std::string& why);
// Feed name, confidence and threat overrides, kind from the words, expiry.
void finish(Indicator& i, const FeedSpec& spec, int default_conf);
void count_skip(FeedSummary& sum, const std::string& reason);
bool read_text(const std::string& path, std::string& out, std::string& err);

bool read_misp_feed(const FeedSpec& spec, std::vector<Indicator>& out, FeedSummary& sum, std::string& err);
bool read_stix_feed(const FeedSpec& spec, std::vector<Indicator>& out, FeedSummary& sum, std::string& err);
bool read_csv_feed(const FeedSpec& spec, Format f, std::vector<Indicator>& out, FeedSummary& sum, std::string& err);
bool read_plain_feed(const FeedSpec& spec, std::vector<Indicator>& out, FeedSummary& sum, std::string& err);

}  // namespace spectre::intel
