// Offline capture reader (pcap and pcapng via libpcap), reader thread only.
#pragma once
#include <cstdint>
#include <string>

#include <pcap/pcap.h>

namespace spectre {

class PcapReader {
 public:
  ~PcapReader();
  // False and `err` set when the file cannot be opened or is not a capture.
  bool open(const std::string& path, std::string& err);
  // 1: packet; 0: end of file; -1: read error (e.g. truncated), see error().
  int next(const uint8_t** data, uint32_t* caplen, uint64_t* ts_ns);
  uint16_t linktype() const { return linktype_; }
  uint64_t position() const;  // bytes consumed, for progress
  uint64_t size() const { return size_; }
  const std::string& error() const { return error_; }
  void close();

 private:
  pcap_t* p_ = nullptr;
  uint16_t linktype_ = 0;
  uint64_t size_ = 0;
  std::string error_;
};

}  // namespace spectre
