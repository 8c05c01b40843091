#include "dataplane/io/pcap_reader.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace spectre {

PcapReader::~PcapReader() { close(); }

void PcapReader::close() {
  if (p_) pcap_close(p_);
  p_ = nullptr;
}

bool PcapReader::open(const std::string& path, std::string& err) {
  close();
  char ebuf[PCAP_ERRBUF_SIZE] = {0};
  // Our own FILE with a 1 MiB buffer: libpcap freads each record, and the
  // default stdio buffer made the reader syscall-bound.
  FILE* f = fopen(path.c_str(), "rb");
  if (!f) {
    err = fmt::format("{}: cannot read capture: {}", path, strerror(errno));
    return false;
  }
  setvbuf(f, nullptr, _IOFBF, 1 << 20);
  p_ = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_NANO, ebuf);
  if (!p_) {  // libpcap closes nothing on failure
    fclose(f);
    err = fmt::format("{}: cannot read capture: {}", path, ebuf);
    return false;
  }
  linktype_ = uint16_t(pcap_datalink(p_));
  struct stat st;
  size_ = stat(path.c_str(), &st) == 0 ? uint64_t(st.st_size) : 0;
  return true;
}

int PcapReader::next(const uint8_t** data, uint32_t* caplen, uint64_t* ts_ns) {
  struct pcap_pkthdr* h;
  const u_char* d;
  int rc = pcap_next_ex(p_, &h, &d);
  if (rc == 1) {
    *data = d;
    *caplen = h->caplen;
    // With nano precision tv_usec holds nanoseconds.
    *ts_ns = uint64_t(h->ts.tv_sec) * 1000000000ull + uint64_t(h->ts.tv_usec);
    linktype_ = uint16_t(pcap_datalink(p_));
    return 1;
  }
  if (rc == PCAP_ERROR_BREAK) return 0;
  error_ = pcap_geterr(p_);
  return -1;
}

uint64_t PcapReader::position() const {
  if (!p_) return 0;
  FILE* f = pcap_file(p_);
  long pos = f ? ftell(f) : -1;
  return pos > 0 ? uint64_t(pos) : 0;
}

}  // namespace spectre
