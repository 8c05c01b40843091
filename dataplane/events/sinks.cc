#include "dataplane/events/sinks.h"

#include <chrono>

#include "dataplane/events/eve.h"

namespace spectre {

namespace {

void write_out(FILE* f, fmt::memory_buffer& buf) {
  if (f && buf.size()) fwrite(buf.data(), 1, buf.size(), f);
  buf.clear();
}

}  // namespace

// ---- EVE file ----

void EveFileSink::on_flow(uint32_t, const FlowRecord& r) {
  if (on()) format_flow(buf_, r);
}

void EveFileSink::on_alert(uint32_t, const AlertRecord& a) {
  if (on()) format_alert(buf_, a);
}

void EveFileSink::on_app_tx(uint32_t, const AlertRecord& a) {
  if (on()) format_app_event(buf_, a);
}

void EveFileSink::on_eve_lines(std::string_view, std::string_view lines) {
  if (on()) buf_.append(lines);
}

void EveFileSink::on_stats(const StatsFn& fill) {
  if (on()) fill(buf_);
}

void EveFileSink::flush() { write_out(out_, buf_); }

void EveFileSink::sync() {
  if (out_) fflush(out_);
}

// ---- control channel ----

std::string_view ControlSink::trimmed() const {
  size_t len = line_.size();
  while (len && line_.data()[len - 1] == '\n') len--;
  return std::string_view(line_.data(), len);
}

void ControlSink::on_flow(uint32_t w, const FlowRecord& r) {
  if (!route_.cp) return;
  line_.clear();
  format_flow(line_, r);
  route_.ctrl->push_flow(w, r, trimmed());
}

void ControlSink::on_alert(uint32_t w, const AlertRecord& a) {
  if (!route_.cp) return;
  line_.clear();
  format_alert(line_, a);
  route_.ctrl->push_alert(w, a, trimmed());
}

void ControlSink::on_app_tx(uint32_t w, const AlertRecord& a) {
  if (!route_.cp) return;
  line_.clear();
  format_app_event(line_, a);
  route_.ctrl->push_eve_line(w, rules::app_proto_name(rules::AppProto(a.app_proto)), trimmed());
}

// One message per line, from worker 0 (the writer's own records).
void ControlSink::on_eve_lines(std::string_view type, std::string_view lines) {
  if (!route_.cp) return;
  for (size_t p = 0; p < lines.size();) {
    size_t q = lines.find('\n', p);
    if (q == std::string_view::npos) q = lines.size();
    route_.ctrl->push_eve_line(0, type, lines.substr(p, q - p));
    p = q + 1;
  }
}

void ControlSink::on_stats(const StatsFn& fill) {
  if (!route_.cp) return;
  line_.clear();
  fill(line_);
  route_.ctrl->push_eve_line(0, "stats", trimmed());
  push_worker_stats();
}

// One WorkerStats message per worker, into that worker's event ring.
void ControlSink::push_worker_stats() {
  uint64_t ts = uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count());
  uint64_t io[kIoCounterCount] = {};
  if (io_) io_counter_values(*io_, io);
  uint64_t v[kWorkerCounterCount];
  for (uint32_t wi = 0; wi < workers_.size(); wi++) {
    Totals s = snapshot(*workers_[wi]);
    worker_counter_values(s, v);
    route_.ctrl->push_stats(wi, ts, s.w, s.ml, s.det.alerts + s.ml.alerts + s.behave.alerts, v, io);
  }
}

// ---- fast.log, feature CSV ----

void BufferedFileSink::flush() { write_out(f_, buf_); }

void BufferedFileSink::sync() {
  if (f_) fflush(f_);
}

void FastLogSink::on_alert(uint32_t, const AlertRecord& a) {
  if (f_) format_fast(buf_, a);
}

void FeatureSink::on_feature_row(uint32_t, const AlertRecord& a) {
  if (f_) format_feature_row(buf_, a);
}

// ---- incidents ----

void IncidentSink::on_flow(uint32_t, const FlowRecord& r) { hook_->on_flow(r); }

void IncidentSink::on_alert(uint32_t, const AlertRecord& a) { hook_->on_alert(a); }

void IncidentSink::end_pass(SinkRegistry& reg) {
  lines_.clear();
  if (hook_->take(lines_)) reg.eve_lines("incident", std::string_view(lines_.data(), lines_.size()));
}

void IncidentSink::finish(SinkRegistry& reg) {
  hook_->finish();
  end_pass(reg);
}

}  // namespace spectre
