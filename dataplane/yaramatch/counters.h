// YARA scan counters (see dataplane/core/counter_def.h).
#pragma once

#define SPECTRE_YARA_COUNTERS(X)                                                                 \
  X(files, "yara.files", kCounter, "Files (or multipart parts) scanned.")                       \
  X(bytes, "yara.bytes", kCounter, "Bytes scanned.")                                            \
  X(cut, "yara.cut", kCounter, "Files longer than max_file_size (their first part scanned).")   \
  X(hits, "yara.hits", kCounter, "Matching rules (one alert each, unless the ring was full).")  \
  X(errors, "yara.errors", kCounter, "Scans failing (libyara error other than a timeout).")      \
  X(timeouts, "yara.timeouts", kCounter, "Scans stopped by the timeout.")                       \
  X(scanners, "yara.scanners", kCounter, "YR_SCANNERs created (one per worker per rule set).")
