#include "output.hpp"

#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <iostream>

namespace kura::cli {

bool stdout_is_tty() {
  static const bool tty = ::isatty(STDOUT_FILENO) == 1;
  return tty;
}

std::string color(const std::string& text, const char* code) {
  if (!stdout_is_tty() || std::getenv("NO_COLOR")) return text;
  return std::string("\033[") + code + "m" + text + "\033[0m";
}

std::string human_bytes(uint64_t bytes) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1000 && u < 4) {
    v /= 1000;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u ? "%.1f %s" : "%.0f %s", v, units[u]);
  return buf;
}

std::string format_time(int64_t time, int offset_minutes) {
  std::time_t t = static_cast<std::time_t>(time + int64_t(offset_minutes) * 60);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  char off[16];
  int m = offset_minutes < 0 ? -offset_minutes : offset_minutes;
  std::snprintf(off, sizeof off, " %c%02d%02d", offset_minutes < 0 ? '-' : '+', m / 60, m % 60);
  return std::string(buf) + off;
}

void print_json(const nlohmann::json& j) {
  std::cout << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
}

nlohmann::json to_json(const CommitInfo& c) {
  return {{"id", c.id},
          {"parents", c.parents},
          {"author_name", c.author_name},
          {"author_email", c.author_email},
          {"time", c.time},
          {"message", c.message},
          {"tree", c.tree}};
}

nlohmann::json to_json(const FileEntry& f) {
  nlohmann::json j = {{"path", f.path},
                      {"mode", f.mode == 0120000 ? "120000" : f.mode == 0100755 ? "100755" : "100644"},
                      {"kind", kind_name(f.pointer.kind)},
                      {"object", f.pointer.object.hex()},
                      {"size", f.pointer.size},
                      {"sha256", f.pointer.file_sha.hex()}};
  if (f.pointer.kind == FileKind::kTable) j["rows"] = f.pointer.rows;
  return j;
}

std::unique_ptr<Repo> open_repo(const Global& g, const std::string& command, bool json, Mode mode) {
  OpenOptions options;
  if (mode == Mode::kRead) options.access = Access::kReadOnly;
  options.lock_timeout = std::chrono::milliseconds(static_cast<int64_t>(g.lock_timeout * 1000));
  options.command = "kura " + command;
  if (!g.quiet && !json && ::isatty(STDERR_FILENO)) {
    auto bar = std::make_shared<ProgressBar>();
    options.progress = [bar](const Progress& p) { bar->update(p); };
  }
  return Repo::open(g.dir, options);
}

void ProgressBar::update(const Progress& p) {
  if (p.total == 0) return;
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  if (secs < 0.3 && p.done < p.total) return;  // short jobs draw nothing
  std::string line = std::string(p.phase) + "  " + std::to_string(p.done) + "/" + std::to_string(p.total) + " files";
  const int width = 24;
  int filled = static_cast<int>(width * p.done / p.total);
  line += "  [" + std::string(filled, '#') + std::string(width - filled, '.') + "]";
  if (p.bytes_done) {
    line += "  " + human_bytes(p.bytes_done);
    if (secs > 0) line += "  " + human_bytes(static_cast<uint64_t>(p.bytes_done / secs)) + "/s";
  }
  if (p.done >= p.total) {
    if (drawn_) std::fprintf(stderr, "\r\033[K");
    drawn_ = false;
    return;
  }
  std::fprintf(stderr, "\r%s\033[K", line.c_str());
  drawn_ = true;
}

ProgressBar::~ProgressBar() {
  if (drawn_) std::fprintf(stderr, "\r\033[K");
}

}  // namespace kura::cli
