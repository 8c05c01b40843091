// A minimal PDF 1.4 writer: text lines in Helvetica on A4 pages (a new page
// every 64 lines), a correct cross-reference table. Enough for reports;
// characters outside Latin-1 print as '?'.
#pragma once

#include <string>
#include <vector>

namespace spectre::api {

struct PdfLine {
  std::string text;
  int size = 10;  // points; 16 for a title, 12 for a heading
};

std::string make_pdf(const std::string& title, const std::vector<PdfLine>& lines);

}  // namespace spectre::api
