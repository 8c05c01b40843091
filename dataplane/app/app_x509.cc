// X.509 DER reader (see app_x509.h) and the SHA-1/SHA-256 wrappers. Every read
// is bounds-checked against its enclosing TLV; the reader never trusts a length
// it has not compared with the bytes left. A 1 KB certificate costs ~0.7 us for
// the SHA-1 (libcrypto) and well under that for the walk.
#include "dataplane/app/app_x509.h"

#include <openssl/sha.h>

#include <cstring>

namespace spectre::app {

namespace {

// One TLV: tag byte, content view. Only single-byte tags and definite lengths
// of at most 4 length bytes (DER).
struct Tlv {
  uint8_t tag = 0;
  const uint8_t* v = nullptr;
  uint32_t n = 0;
};

// Reads the TLV at p[*i] within n bytes; advances *i past it.
bool tlv(const uint8_t* p, uint32_t n, uint32_t* i, Tlv& t) {
  uint32_t k = *i;
  if (n - k < 2) return false;
  t.tag = p[k++];
  if ((t.tag & 0x1f) == 0x1f) return false;  // high tag numbers: not in certificates
  uint32_t len = p[k++];
  if (len & 0x80) {
    uint32_t nb = len & 0x7f;
    if (nb == 0 || nb > 4 || n - k < nb) return false;  // indefinite or huge
    len = 0;
    for (uint32_t j = 0; j < nb; j++) len = len << 8 | p[k++];
  }
  if (len > n - k) return false;
  t.v = p + k;
  t.n = len;
  *i = k + len;
  return true;
}

bool expect(const uint8_t* p, uint32_t n, uint32_t* i, uint8_t tag, Tlv& t) {
  return tlv(p, n, i, t) && t.tag == tag;
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = unsigned(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + int64_t(doe) - 719468;
}

bool digits(const uint8_t* p, int k, int* out) {
  int v = 0;
  for (int j = 0; j < k; j++) {
    if (p[j] < '0' || p[j] > '9') return false;
    v = v * 10 + (p[j] - '0');
  }
  *out = v;
  return true;
}

// UTCTime (YYMMDDHHMM[SS]Z, YY < 50 is 20YY) or GeneralizedTime
// (YYYYMMDDHHMM[SS][.fff]Z). Offsets other than Z are not accepted.
bool x509_time(const Tlv& t, int64_t* out) {
  const uint8_t* p = t.v;
  uint32_t n = t.n;
  int y, mo, d, h, mi, s = 0;
  uint32_t k;
  if (t.tag == 0x17) {
    if (n < 11 || !digits(p, 2, &y)) return false;
    y += y < 50 ? 2000 : 1900;
    k = 2;
  } else if (t.tag == 0x18) {
    if (n < 13 || !digits(p, 4, &y)) return false;
    k = 4;
  } else {
    return false;
  }
  if (!digits(p + k, 2, &mo) || !digits(p + k + 2, 2, &d) || !digits(p + k + 4, 2, &h) ||
      !digits(p + k + 6, 2, &mi))
    return false;
  k += 8;
  if (n - k >= 3 && digits(p + k, 2, &s)) k += 2;
  if (k < n && p[k] == '.') {
    for (k++; k < n && p[k] >= '0' && p[k] <= '9'; k++) {}
  }
  if (k + 1 != n || p[k] != 'Z') return false;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return false;
  *out = days_from_civil(y, unsigned(mo), unsigned(d)) * 86400 + h * 3600 + mi * 60 + s;
  return true;
}

// String builder that stops at cap.
struct W {
  char* o;
  uint32_t cap, n = 0;
  void ch(char c) {
    if (n < cap) o[n++] = c;
  }
  void str(const char* s) {
    while (*s) ch(*s++);
  }
  void bytes(const uint8_t* p, uint32_t k) {
    for (uint32_t j = 0; j < k; j++) ch(char(p[j]));
  }
  void num(uint64_t v) {
    char t[24];
    int k = 0;
    do t[k++] = char('0' + v % 10), v /= 10; while (v);
    while (k) ch(t[--k]);
  }
};

struct OidName {
  const char* der;  // content bytes of the OID
  uint8_t len;
  const char* name;
};
// Suricata (x509-parser) abbreviations, then a few common attribute names.
const OidName kOids[] = {
    {"\x55\x04\x03", 3, "CN"},
    {"\x55\x04\x06", 3, "C"},
    {"\x55\x04\x07", 3, "L"},
    {"\x55\x04\x08", 3, "ST"},
    {"\x55\x04\x0a", 3, "O"},
    {"\x55\x04\x0b", 3, "OU"},
    {"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x19", 10, "DC"},
    {"\x2a\x86\x48\x86\xf7\x0d\x01\x09\x01", 9, "Email"},
    {"\x55\x04\x04", 3, "surname"},
    {"\x55\x04\x05", 3, "serialNumber"},
    {"\x55\x04\x09", 3, "streetAddress"},
    {"\x55\x04\x0c", 3, "title"},
    {"\x55\x04\x0f", 3, "businessCategory"},
    {"\x55\x04\x11", 3, "postalCode"},
    {"\x55\x04\x2a", 3, "givenName"},
};

// OID content -> dotted text; false when malformed.
bool oid_dotted(const uint8_t* p, uint32_t n, W& w) {
  if (n == 0) return false;
  uint64_t v = 0;
  bool first = true;
  for (uint32_t j = 0; j < n; j++) {
    if (v >> 56) return false;  // component too large
    v = v << 7 | (p[j] & 0x7f);
    if (p[j] & 0x80) {
      if (j + 1 == n) return false;  // ends inside a component
      continue;
    }
    if (first) {
      uint64_t a = v < 40 ? 0 : v < 80 ? 1 : 2;
      w.num(a);
      w.ch('.');
      w.num(v - 40 * a);
      first = false;
    } else {
      w.ch('.');
      w.num(v);
    }
    v = 0;
  }
  return true;
}

bool is_string_tag(uint8_t t) {
  switch (t) {
    case 0x07: case 0x0c: case 0x12: case 0x13: case 0x14: case 0x15: case 0x16: case 0x19:
    case 0x1a: case 0x1b: case 0x1e:
      return true;
    default:
      return false;
  }
}

// One AttributeTypeAndValue (content of its SEQUENCE).
bool attribute(const uint8_t* p, uint32_t n, W& w) {
  uint32_t i = 0;
  Tlv oid, val;
  if (!expect(p, n, &i, 0x06, oid) || !tlv(p, n, &i, val)) return false;
  const char* name = nullptr;
  for (const OidName& o : kOids)
    if (o.len == oid.n && memcmp(o.der, oid.v, oid.n) == 0) name = o.name;
  if (name) {
    w.str(name);
  } else {
    w.str("OID(");
    if (!oid_dotted(oid.v, oid.n, w)) return false;
    w.ch(')');
  }
  w.ch('=');
  if (is_string_tag(val.tag)) {
    w.bytes(val.v, val.n);
  } else {
    static const char hx[] = "0123456789ABCDEF";
    for (uint32_t j = 0; j < val.n; j++) w.ch(hx[val.v[j] >> 4]), w.ch(hx[val.v[j] & 15]);
  }
  return true;
}

}  // namespace

bool x509_parse(const uint8_t* p, uint32_t n, X509Info& out) {
  uint32_t i = 0;
  Tlv cert, tbs;
  if (!expect(p, n, &i, 0x30, cert) || i != n) return false;
  uint32_t j = 0;
  if (!expect(cert.v, cert.n, &j, 0x30, tbs)) return false;
  const uint8_t* t = tbs.v;
  const uint32_t tn = tbs.n;
  uint32_t k = 0;
  Tlv f;
  if (!tlv(t, tn, &k, f)) return false;
  if (f.tag == 0xa0 && !tlv(t, tn, &k, f)) return false;  // [0] EXPLICIT version
  if (f.tag != 0x02 || f.n == 0) return false;                // serialNumber
  out.serial = f.v;
  out.serial_len = f.n;
  if (!expect(t, tn, &k, 0x30, f)) return false;  // signature AlgorithmIdentifier
  if (!expect(t, tn, &k, 0x30, f)) return false;  // issuer
  out.issuer = f.v;
  out.issuer_len = f.n;
  Tlv val, nb, na;
  if (!expect(t, tn, &k, 0x30, val)) return false;  // validity
  uint32_t m = 0;
  if (!tlv(val.v, val.n, &m, nb) || !tlv(val.v, val.n, &m, na)) return false;
  if (!x509_time(nb, &out.not_before) || !x509_time(na, &out.not_after)) return false;
  if (!expect(t, tn, &k, 0x30, f)) return false;  // subject
  out.subject = f.v;
  out.subject_len = f.n;
  return true;
}

int32_t x509_dn_string(const uint8_t* name, uint32_t n, char* out, uint32_t cap) {
  W w{out, cap};
  uint32_t i = 0;
  bool first_rdn = true;
  while (i < n) {
    Tlv rdn;
    if (!expect(name, n, &i, 0x31, rdn)) return -1;
    if (!first_rdn) w.str(", ");
    first_rdn = false;
    uint32_t k = 0;
    bool first_attr = true;
    while (k < rdn.n) {
      Tlv atv;
      if (!expect(rdn.v, rdn.n, &k, 0x30, atv)) return -1;
      if (!first_attr) w.str(" + ");
      first_attr = false;
      if (!attribute(atv.v, atv.n, w)) return -1;
    }
  }
  return int32_t(w.n);
}

uint32_t hex_colon(const uint8_t* p, uint32_t n, bool upper, char* out, uint32_t cap) {
  const char* hx = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  uint32_t k = 0;
  for (uint32_t j = 0; j < n; j++) {
    uint32_t need = j ? 3 : 2;
    if (cap - k < need) break;
    if (j) out[k++] = ':';
    out[k++] = hx[p[j] >> 4];
    out[k++] = hx[p[j] & 15];
  }
  return k;
}

namespace {
// Civil date of a day count since 1970 (inverse of days_from_civil).
void civil_from_days(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = unsigned(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = int64_t(yoe) + era * 400 + (*m <= 2);
}

// Fields of t (clamped to years 0..9999 so the text keeps its width).
void fields(int64_t t, int v[6]) {
  int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
  int64_t sec = t - days * 86400;
  int64_t y;
  unsigned m, d;
  civil_from_days(days, &y, &m, &d);
  if (y < 0) y = 0;
  if (y > 9999) y = 9999;
  v[0] = int(y), v[1] = int(m), v[2] = int(d);
  v[3] = int(sec / 3600), v[4] = int(sec / 60 % 60), v[5] = int(sec % 60);
}

void put(char* o, int v, int w) {
  for (int j = w - 1; j >= 0; j--, v /= 10) o[j] = char('0' + v % 10);
}
}  // namespace

void x509_time_iso(int64_t t, char out[20]) {
  int v[6];
  fields(t, v);
  put(out, v[0], 4), out[4] = '-', put(out + 5, v[1], 2), out[7] = '-', put(out + 8, v[2], 2);
  out[10] = 'T', put(out + 11, v[3], 2), out[13] = ':', put(out + 14, v[4], 2), out[16] = ':';
  put(out + 17, v[5], 2);
  out[19] = 0;
}

void x509_time_digits(int64_t t, char out[15]) {
  int v[6];
  fields(t, v);
  put(out, v[0], 4), put(out + 4, v[1], 2), put(out + 6, v[2], 2);
  put(out + 8, v[3], 2), put(out + 10, v[4], 2), put(out + 12, v[5], 2);
  out[14] = 0;
}

// libcrypto's low-level digests: no allocation (the context is on the stack),
// SHA-NI / AVX2 code chosen at run time: ~0.7 us for a 1 KB certificate where
// our portable SHA-1 took ~3.5 us (bench/micro tls_handshake). The EVP
// interface would allocate a context per call; these calls are deprecated in
// OpenSSL 3 but kept, hence the pragma.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
void sha1(const void* data, size_t n, uint8_t out[20]) {
  SHA_CTX c;
  SHA1_Init(&c);
  SHA1_Update(&c, data, n);
  SHA1_Final(out, &c);
}

void sha256(const void* data, size_t n, uint8_t out[32]) {
  SHA256_CTX c;
  SHA256_Init(&c);
  SHA256_Update(&c, data, n);
  SHA256_Final(out, &c);
}
#pragma GCC diagnostic pop

}  // namespace spectre::app
