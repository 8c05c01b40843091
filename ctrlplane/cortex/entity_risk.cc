#include "ctrlplane/cortex/entity_risk.h"

#include <algorithm>
#include <cmath>

namespace spectre::cortex {

double EntityRisk::decay(double v, uint64_t dt, uint64_t h) {
  return h ? v * std::exp2(-double(dt) / double(h)) : v;
}

double EntityRisk::sum(const E& e, uint64_t t) const {
  double r = 0;
  for (int i = 0; i < e.n; i++) {
    const Slot& s = e.s[i];
    uint64_t dt = t > s.t ? t - s.t : 0;
    if (dt <= c_.window_ns) r += decay(s.v, dt, c_.half_life_ns);
  }
  return r;
}

// At most kSweepStep entities from the cursor (wrapping once to the start).
void EntityRisk::sweep(uint64_t t) {
  auto it = has_cursor_ ? m_.find(cursor_) : m_.end();
  if (it == m_.end()) it = m_.begin();
  const size_t limit = std::min(kSweepStep, m_.size());
  for (size_t n = 0; n < limit && !m_.empty(); n++) {
    if (it == m_.end()) it = m_.begin();
    scanned++;
    if (it->second.last + c_.window_ns < t) it = m_.erase(it), expired++;
    else ++it;
  }
  if (it == m_.end()) it = m_.begin();
  has_cursor_ = it != m_.end();
  if (has_cursor_) cursor_ = it->first;
}

double EntityRisk::add(const Val& key, double points, uint64_t t, bool new_incident) {
  auto it = m_.find(key);
  if (it == m_.end()) {
    if (m_.size() >= c_.max_entities) sweep(t);
    if (m_.size() >= c_.max_entities) {
      untracked++;
      return 0;
    }
    it = m_.emplace(key, E{}).first;
  }
  E& e = it->second;
  // Contributions that left the window go first.
  int k = 0;
  for (int i = 0; i < e.n; i++)
    if (!(t > e.s[i].t && t - e.s[i].t > c_.window_ns)) e.s[k++] = e.s[i];
  e.n = uint8_t(k);
  if (e.n == kSlots) {  // merge the two oldest (slots are in time order)
    e.s[1].v += decay(e.s[0].v, e.s[1].t - e.s[0].t, c_.half_life_ns);
    for (int i = 1; i < kSlots; i++) e.s[i - 1] = e.s[i];
    e.n--;
    merged++;
  }
  // Keep time order (a late contribution slots in before newer ones).
  int pos = e.n;
  while (pos > 0 && e.s[pos - 1].t > t) e.s[pos] = e.s[pos - 1], pos--;
  e.s[pos] = {t, points};
  e.n++;
  e.last = std::max(e.last, t);
  if (new_incident) e.incidents++;
  return sum(e, t);
}

double EntityRisk::value(const Val& key, uint64_t t) const {
  auto it = m_.find(key);
  return it == m_.end() ? 0 : sum(it->second, t);
}

uint32_t EntityRisk::incidents(const Val& key) const {
  auto it = m_.find(key);
  return it == m_.end() ? 0 : it->second.incidents;
}

}  // namespace spectre::cortex
