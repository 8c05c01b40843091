#include "dataplane/core/reload.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "dataplane/core/clock.h"
#include "dataplane/core/control.h"
#include "dataplane/core/rules_setup.h"

namespace spectre {

JobLane::~JobLane() {
  if (busy()) th_.join();
}

void JobLane::push(Work w, Drop d) {
  queue_.push_back({std::move(w), std::move(d)});
  poll();
}

void JobLane::poll(bool wait) {
  if (busy() && (wait || done_.load(std::memory_order_acquire))) {
    th_.join();
    Finish f = std::move(finish_);
    finish_ = nullptr;
    if (f) f();
  }
  if (busy() || queue_.empty()) return;
  Work w = std::move(queue_.front().work);
  queue_.pop_front();
  done_.store(false, std::memory_order_relaxed);
  th_ = std::thread([this, w = std::move(w)] {
    finish_ = w();
    done_.store(true, std::memory_order_release);  // finish_ is visible before the flag
  });
}

void JobLane::drain() {
  for (Item& it : queue_)
    if (it.drop) it.drop();
  queue_.clear();
  poll(true);
}

void Reloader::respond(bool ctl, uint64_t id, bool ok, const std::string& msg) {
  if (ctl && ctrl_) ctrl_->respond(id, ok, msg);
}

JobLane::Drop Reloader::dropper(bool ctl, uint64_t id) {
  return [this, ctl, id] { respond(ctl, id, false, "not done: the data plane is stopping"); };
}

JobLane::Finish Reloader::refuse_config(bool ctl, uint64_t id, const std::string& err) {
  return [this, ctl, id, err] {
    io_.reload_errors++;
    fmt::print(stderr, "spectre-dp: reload refused, keeping the running configuration: {}\n", err);
    respond(ctl, id, false, err);
  };
}

void Reloader::publish(std::unique_ptr<Snapshot> next) {
  next->generation = snaps_.current()->generation + 1;
  snaps_.publish(std::move(next));
}

void Reloader::config(bool ctl, uint64_t id) {
  // Everything the helper reads is copied here (the main lcore owns cfg_).
  Config base = cfg_;
  Options opt = opt_;
  cfg_lane_.push(
      [this, ctl, id, base = std::move(base), opt = std::move(opt)]() -> JobLane::Finish {
        const uint64_t t0 = clock_ns(CLOCK_MONOTONIC);
        std::string err;
        Config next = base;
        if (!opt.config_path.empty()) {
          auto c = load_config(opt.config_path, err);
          if (!c) return refuse_config(ctl, id, err);
          next = *c;
          apply_cli_overrides(next, opt);  // the command line stays on top
          // Sizes fixed at start-up stay as they are.
          next.max_flows = base.max_flows;
          next.workers = base.workers;
          next.event_ring_size = base.event_ring_size;
          next.defrag_max_datagrams = base.defrag_max_datagrams;
          next.eve_path = base.eve_path;
        }
        next.dump_features = base.dump_features;  // the dump file is opened once
        // The model file is re-read (a new version may sit at the same path).
        std::shared_ptr<const MlModel> model;
        if (!next.ml_model.empty() && !(model = load_ml_model(next.ml_model, err)))
          return refuse_config(ctl, id, err);
        std::shared_ptr<const intel::IntelSet> iset;
        if (!next.intel_feeds.empty() && !(iset = intel::load_intel(next.intel_feeds, err)))
          return refuse_config(ctl, id, "threat intel: " + err);
        // YARA rules are re-read and recompiled: a broken file refuses the reload (the running set stays).
        std::shared_ptr<const yara::RuleSet> yrs;
        if (!next.yara.rules.empty()) {
          yrs = yara::compile(next.yara.rules, next.rules_strict, err);
          if (!yrs && !err.empty()) return refuse_config(ctl, id, "yara: " + err);
        }
        std::shared_ptr<Snapshot> snap(build_snapshot(next, 0).release());
        set_model(*snap, std::move(model));
        snap->intel = iset;
        snap->yara = yrs;
        const uint64_t took = clock_ns(CLOCK_MONOTONIC) - t0;
        return [this, ctl, id, snap, took, thr = next.threshold_file] {
          auto s = std::make_unique<Snapshot>(std::move(*snap));
          const Snapshot* cur = snaps_.current();
          s->rules = cur->rules;  // rules change by rule reloads only
          s->ml.shadow = cur->ml.shadow;
          publish(std::move(s));
          io_.set_intel_feeds(snaps_.current()->intel ? snaps_.current()->intel->summary_json() : "{}");
          io_.reloads++;
          slowest_cfg_ns_ = std::max(slowest_cfg_ns_, took);
          respond(ctl, id, true, "configuration reloaded");
          if (const auto& y = snaps_.current()->yara)
            fmt::print(stderr, "spectre-dp: yara: reloaded, {} rule(s) from {} file(s)\n", y->count(), y->files());
          // threshold.config is compiled into the rules: with one configured (before or
          // now), a config reload also queues a rule reload that re-reads it.
          if (!thr.empty() || !cfg_.threshold_file.empty()) {
            cfg_.threshold_file = thr;
            std::string unused;
            rules(false, 0, {}, unused);
          }
        };
      },
      dropper(ctl, id));
}

void Reloader::model(uint64_t id, const std::string& path, bool shadow) {
  cfg_lane_.push(
      [this, id, path, shadow]() -> JobLane::Finish {
        const uint64_t t0 = clock_ns(CLOCK_MONOTONIC);
        std::shared_ptr<const MlModel> m;
        std::string err;
        if (!path.empty() && !(m = load_ml_model(path, err)))
          return [this, id, err] { respond(true, id, false, err); };
        const uint64_t took = clock_ns(CLOCK_MONOTONIC) - t0;
        return [this, id, m, shadow, took, t0] {
          auto next = std::make_unique<Snapshot>(*snaps_.current());
          if (shadow) next->ml.shadow = m;
          else set_model(*next, m);
          publish(std::move(next));
          if (!m) {
            respond(true, id, true, "shadow model cleared");
            return;
          }
          io_.reloads++;
          slowest_cfg_ns_ = std::max(slowest_cfg_ns_, took);
          std::string msg = fmt::format(
              "{} {} version {} ({} outputs) published in {:.1f} ms (load, checks, self-test, publish)",
              shadow ? "shadow model" : "model", m->name, m->version, m->out_class.size(),
              double(clock_ns(CLOCK_MONOTONIC) - t0) * 1e-6);
          fmt::print(stderr, "spectre-dp: {}\n", msg);
          respond(true, id, true, msg);
        };
      },
      dropper(true, id));
}

bool Reloader::rules(bool ctl, uint64_t id, const std::vector<std::string>& files, std::string& msg) {
  if (!ctl && rules_lane_.queued()) return true;  // the queued reload reads the same files
  if (ctl) {
    if (ctl_rules_) {
      msg = "a rule reload requested by the control plane is already running";
      return false;
    }
    for (const auto& f : files)
      if (access(f.c_str(), R_OK) != 0) {
        msg = "cannot read rule file " + f + ": " + strerror(errno);
        return false;
      }
    if (!files.empty()) {  // these files from now on (later reloads too)
      cfg_.rule_files = files;
      cfg_.rules_dir.clear();
    }
    ctl_rules_++;
  }
  Config c = cfg_;
  const uint32_t nw = workers_;
  rules_lane_.push(
      [this, ctl, id, c, nw]() -> JobLane::Finish {
        std::string err, summary;
        // Feeds are re-read with the rules (`rules reload`): a broken feed refuses both. With
        // feeds but no rules configured, only the feeds are reloaded.
        const bool rules_only_feeds = !rules_configured(c) && !c.intel_feeds.empty();
        std::shared_ptr<const CompiledRuleset> rs;
        if (!rules_only_feeds) {
          rs = load_ruleset(c, nw, err, summary);
          summary = summary.substr(0, summary.find('\n'));
        }
        std::shared_ptr<const intel::IntelSet> iset;
        // No rule set and no error: nothing active (not strict), published as at start.
        bool ok = rs || rules_only_feeds || err.empty();
        if (ok && !c.intel_feeds.empty() && !(iset = intel::load_intel(c.intel_feeds, err))) {
          ok = false;
          err = "threat intel: " + err;
        }
        if (iset) summary += std::string(summary.empty() ? "" : "; ") + "intel " + intel::intel_summary(*iset);
        return [this, ctl, id, rs, iset, ok, rules_only_feeds, err, summary] {
          if (ctl) ctl_rules_--;
          if (!ok) {  // fatal (unreadable file, strict and a dropped rule, or a broken feed)
            io_.reload_errors++;
            fmt::print(stderr, "spectre-dp: rule reload refused, keeping the running rules: {}\n", err);
            respond(ctl, id, false, "rule reload refused, the running rules stay: " + err);
            return;
          }
          auto next = std::make_unique<Snapshot>(*snaps_.current());
          if (!rules_only_feeds) next->rules = rs;
          if (iset) {
            next->intel = iset;
            io_.set_intel_feeds(iset->summary_json());
          }
          publish(std::move(next));
          io_.rule_reloads++;
          rules_generation_++;
          // Not strict and nothing loads: like at start, run without signatures.
          const char* none =
              rs || rules_only_feeds ? "" : "; warning: no rule is active, running without signatures";
          fmt::print(stderr, "spectre-dp: rules reloaded: {}{}\n", summary, none);
          respond(ctl, id, true, "rules reloaded: " + summary + none);
        };
      },
      [this, ctl, id] {
        if (ctl) ctl_rules_--;
        respond(ctl, id, false, "not done: the data plane is stopping");
      });
  return true;
}

}  // namespace spectre
