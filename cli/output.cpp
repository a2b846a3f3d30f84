#include "output.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>

#include "kura/error.hpp"

namespace kura::cli {

bool stdout_is_tty() {
  static const bool tty = ::isatty(STDOUT_FILENO) == 1;
  return tty;
}

std::string color(const std::string& text, const char* code) {
  if (!stdout_is_tty() || std::getenv("NO_COLOR")) return text;
  return std::string("\033[") + code + "m" + text + "\033[0m";
}

std::optional<RevRange> parse_range(const std::string& arg) {
  const size_t three = arg.find("..."), two = arg.find("..");
  if (two == std::string::npos) return std::nullopt;
  RevRange r;
  r.symmetric = three != std::string::npos;
  const size_t cut = r.symmetric ? three : two;
  r.a = arg.substr(0, cut);
  r.b = arg.substr(cut + (r.symmetric ? 3 : 2));
  if (r.a.empty()) r.a = "HEAD";
  if (r.b.empty()) r.b = "HEAD";
  return r;
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

void print_json(const nlohmann::json& j, const char* key, const CheckReport& report, const ReportFilter& filter) {
  std::string head = j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
  head.erase(head.rfind('}'));  // reopen the object
  while (!head.empty() && (head.back() == '\n' || head.back() == ' ')) head.pop_back();
  std::cout << head << (j.empty() ? "\n  " : ",\n  ") << nlohmann::json(key).dump() << ": ";
  report.write_json(std::cout, filter);
  std::cout << "\n}\n";
}

std::unique_ptr<Repo> open_repo(const Global& g, const std::string& command, bool json, Mode mode) {
  OpenOptions options;
  if (mode == Mode::kRead) options.access = Access::kReadOnly;
  if (mode == Mode::kInspect) options.access = Access::kInspect;
  if (mode == Mode::kRepair) options.access = Access::kRepair;
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

std::vector<std::string> own_arguments() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> args;
  for (size_t start = 0; start < all.size();) {
    size_t end = all.find('\0', start);
    if (end == std::string::npos) end = all.size();
    args.push_back(all.substr(start, end - start));
    start = end + 1;
  }
  return args;
}

void exec_program(const std::string& program, std::vector<std::string> args, const std::string& what) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  ::execv(program.c_str(), argv.data());
  fail_errno(what, program);
}

void add_global_options(CLI::App& app, Global& g) {
  app.add_option("-C", g.dir, "Run as if started in this folder");
  app.add_option("--lock-timeout", g.lock_timeout, "Seconds to wait for another kura process (default 30)");
  app.add_flag("-q,--quiet", g.quiet, "No progress bars or informational output");
}

namespace {

// Damerau-Levenshtein distance (adjacent swaps count one), as git's
// "did you mean" measures it.
size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i)
    for (size_t j = 1; j <= b.size(); ++j) {
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1])});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.size()][b.size()];
}

// The command word of the command line (after the global options), or ""
// when there is none. Sets `*help` when a global --help/--version comes first.
std::string command_word(int argc, char** argv, bool* help) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "-C" || a == "--lock-timeout") {
      ++i;  // their value
      continue;
    }
    if (a == "-h" || a == "--help" || a == "--version" || a.rfind("--lock-timeout=", 0) == 0) {
      if (a[0] == '-' && a.find("lock-timeout") == std::string::npos) *help = true;
      continue;
    }
    if (!a.empty() && a[0] == '-') continue;  // -q and the like
    return a;
  }
  return "";
}

}  // namespace

int run_command_line(CLI::App& app, Global& g, const std::function<int()>& action, int argc, char** argv) {
  bool help = false;
  const std::string word = command_word(argc, argv, &help);
  if (!help) {
    if (word.empty()) {
      // `kura` alone: the usage, as git prints it.
      std::cout << app.help();
      return 2;
    }
    const auto commands = app.get_subcommands([](const CLI::App*) { return true; });
    bool known = false;
    for (const CLI::App* sub : commands) known = known || sub->check_name(word);
    if (!known) {
      size_t best = std::string::npos;
      std::vector<std::string> nearest;
      for (const CLI::App* sub : commands) {
        const size_t d = edit_distance(word, sub->get_name());
        if (d < best) best = d, nearest.clear();
        if (d == best) nearest.push_back(sub->get_name());
      }
      std::cerr << "kura: '" << word << "' is not a kura command";
      if (best != std::string::npos && best <= std::max<size_t>(2, word.size() / 3)) {
        std::cerr << "; the most similar " << (nearest.size() == 1 ? "is: " : "are: ");
        for (size_t i = 0; i < nearest.size(); ++i) std::cerr << (i ? ", " : "") << nearest[i];
        std::cerr << "\n";
      } else {
        std::cerr << "; see 'kura --help' for the list of commands\n";
      }
      return 2;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  try {
    // -C DIR: paths on the command line are then relative to DIR, as in git.
    if (g.dir != ".") {
      if (::chdir(g.dir.c_str()) != 0) fail_errno("enter the folder given with -C", g.dir);
      g.dir = ".";
    }
    return action ? action() : 0;
  } catch (const Error& e) {
    std::fflush(stdout);
    std::cerr << "kura: " << e.what() << "\n";
    switch (e.code()) {
      case ErrorCode::kNothingToDo:
      case ErrorCode::kCheckFailed: return 1;
      case ErrorCode::kLocked: return 3;
      default: return 2;
    }
  } catch (const std::exception& e) {
    std::cerr << "kura: unexpected error: " << e.what() << "\n";
    return 2;
  }
}

void note_policy(const Policy& policy, bool quiet) {
  if (quiet) return;
  for (const auto& source : policy.sources)
    if (source == ".kura/checks.json") {
      std::cerr << "note: the local policy .kura/checks.json is in force over "
                << (policy.sources.size() > 1 ? policy.sources.front() : std::string("the defaults"))
                << "; it is not tracked, so clones check without it (move its settings into " << kPolicyFile
                << " to share them)\n";
      return;
    }
}

}  // namespace kura::cli
