#include "ctrlplane/api/pdf.h"

#include <cstdio>

namespace spectre::api {

namespace {

// A PDF literal string: \ ( ) escaped, UTF-8 folded to Latin-1 (WinAnsi), else '?'.
std::string lit(const std::string& s) {
  std::string o = "(";
  for (size_t i = 0; i < s.size(); i++) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    unsigned code = c;
    if (c >= 0x80) {
      if ((c & 0xe0) == 0xc0 && i + 1 < s.size()) code = (c & 0x1fu) << 6 | (static_cast<unsigned char>(s[++i]) & 0x3fu);
      else {
        while (i + 1 < s.size() && (static_cast<unsigned char>(s[i + 1]) & 0xc0) == 0x80) i++;
        code = '?';
      }
      if (code > 0xff) code = '?';
    }
    if (code == '\\' || code == '(' || code == ')') o += '\\';
    if (code < 0x20) code = ' ';
    if (code >= 0x80) {
      char b[8];
      std::snprintf(b, sizeof b, "\\%03o", code);
      o += b;
    } else {
      o += char(code);
    }
  }
  return o + ")";
}

// Long lines are cut at ~100 characters (no font metrics here).
std::vector<PdfLine> wrap(const std::vector<PdfLine>& in) {
  std::vector<PdfLine> out;
  for (auto& l : in) {
    size_t w = l.size >= 12 ? 70 : 100;
    if (l.text.size() <= w) { out.push_back(l); continue; }
    for (size_t i = 0; i < l.text.size(); i += w) out.push_back({(i ? "    " : "") + l.text.substr(i, w), l.size});
  }
  return out;
}

}  // namespace

std::string make_pdf(const std::string& title, const std::vector<PdfLine>& lines_in) {
  std::vector<PdfLine> lines = wrap(lines_in);
  lines.insert(lines.begin(), {title, 16});
  const size_t per_page = 64;
  size_t pages = (lines.size() + per_page - 1) / per_page;
  // Objects: 1 catalog, 2 pages, 3 font, then per page: page, content.
  std::vector<std::string> objs(3 + 2 * pages);
  objs[0] = "<< /Type /Catalog /Pages 2 0 R >>";
  std::string kids;
  for (size_t p = 0; p < pages; p++) kids += std::to_string(4 + 2 * p) + " 0 R ";
  objs[1] = "<< /Type /Pages /Kids [" + kids + "] /Count " + std::to_string(pages) + " >>";
  objs[2] = "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>";
  for (size_t p = 0; p < pages; p++) {
    std::string c = "BT\n";
    int y = 800;
    for (size_t i = p * per_page; i < std::min(lines.size(), (p + 1) * per_page); i++) {
      c += "/F1 " + std::to_string(lines[i].size) + " Tf 1 0 0 1 40 " + std::to_string(y) + " Tm " + lit(lines[i].text) + " Tj\n";
      y -= lines[i].size + 2;
    }
    c += "ET\n";
    objs[3 + 2 * p] = "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> "
                      "/Contents " + std::to_string(5 + 2 * p) + " 0 R >>";
    objs[4 + 2 * p] = "<< /Length " + std::to_string(c.size()) + " >>\nstream\n" + c + "endstream";
  }
  std::string out = "%PDF-1.4\n%\xe2\xe3\xcf\xd3\n";
  std::vector<size_t> off;
  for (size_t i = 0; i < objs.size(); i++) {
    off.push_back(out.size());
    out += std::to_string(i + 1) + " 0 obj\n" + objs[i] + "\nendobj\n";
  }
  size_t xref = out.size();
  out += "xref\n0 " + std::to_string(objs.size() + 1) + "\n0000000000 65535 f \n";
  for (size_t o : off) {
    char b[24];
    std::snprintf(b, sizeof b, "%010zu 00000 n \n", o);
    out += b;
  }
  out += "trailer\n<< /Size " + std::to_string(objs.size() + 1) + " /Root 1 0 R >>\nstartxref\n" + std::to_string(xref) +
         "\n%%EOF\n";
  return out;
}

}  // namespace spectre::api
