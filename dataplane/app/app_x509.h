// X.509 DER reader for the TLS Certificate message: the few fields Suricata
// logs and matches (serial, issuer and subject names, validity), printed the
// way Suricata prints them. Views into the DER only; no allocation.
#pragma once
#include <cstddef>
#include <cstdint>

namespace spectre::app {

struct X509Info {
  const uint8_t* serial = nullptr;  // INTEGER content bytes (leading 00 kept)
  const uint8_t* issuer = nullptr;  // Name: content of the SEQUENCE OF RDN
  const uint8_t* subject = nullptr;
  uint32_t serial_len = 0, issuer_len = 0, subject_len = 0;
  int64_t not_before = 0, not_after = 0;  // seconds since 1970 UTC
};

// Reads a certificate (SEQUENCE { tbsCertificate, ... }) of exactly n bytes.
// False when the DER is malformed where we read it (lengths, tags, times).
bool x509_parse(const uint8_t* p, uint32_t n, X509Info& out);

// A Name as Suricata writes it: RDNs joined by ", ", the attributes of one
// RDN by " + ", each "ABBREV=value" (CN, C, L, ST, O, OU, DC, Email, a few
// more by name, else "OID(dotted)"); string values raw, other types as
// upper-case hex. Writes at most cap bytes (cut at cap); returns the length,
// or -1 when the Name is malformed.
int32_t x509_dn_string(const uint8_t* name, uint32_t n, char* out, uint32_t cap);

// "0A:E1:..." (upper) or "4a:a3:..." (lower) of n bytes; at most cap bytes
// written (whole bytes only); returns the length.
uint32_t hex_colon(const uint8_t* p, uint32_t n, bool upper, char* out, uint32_t cap);

// Seconds since 1970 -> "2016-08-22T00:00:00" (19 characters + NUL).
void x509_time_iso(int64_t t, char out[20]);
// Seconds since 1970 -> "20160822000000" (14 digits + NUL).
void x509_time_digits(int64_t t, char out[15]);

// SHA-1 of n bytes (FIPS 180-4), for certificate fingerprints; SHA-256 for JA4
// (libcrypto, no allocation).
void sha1(const void* data, size_t n, uint8_t out[20]);
void sha256(const void* data, size_t n, uint8_t out[32]);

}  // namespace spectre::app
