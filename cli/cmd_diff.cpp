// kura diff: the library's DiffReport as text or JSON.
#include <iostream>
#include <sstream>

#include "commands.hpp"
#include "kura/diff.hpp"
#include "kura/error.hpp"

namespace kura::cli {

namespace {

std::string image_text(const DiffImage& im) {
  std::string s = im.object.short_hex();
  if (!im.known) return s;
  if (im.format == "unknown") return s + " (not an image, " + human_bytes(im.bytes) + ")";
  s += " (" + std::to_string(im.width) + "x" + std::to_string(im.height) + " " + im.format + " " + im.mode + ", " +
       human_bytes(im.bytes);
  if (!im.decodes) s += ", does not decode";
  return s + ")";
}

std::string shorten(const std::string& s, size_t n = 160) {
  return s.size() <= n ? s : s.substr(0, n) + "…";
}

std::string value_text(const nlohmann::json& v) {
  return v.is_string() ? v.get<std::string>() : v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// "message 1 part 0 /text": the pointer's tail after the message and part it is in.
std::string where(const ValueChange& c) {
  if (c.pointer.empty()) return "line";
  if (c.message < 0) return c.pointer;
  std::string s = "message " + std::to_string(c.message);
  size_t skip = 3;  // "", "messages", N
  if (c.part >= 0) {
    s += " part " + std::to_string(c.part);
    skip = 5;  // ..., "content", N
  }
  size_t pos = 0;
  for (size_t k = 0; k < skip && pos != std::string::npos; ++k) pos = c.pointer.find('/', pos + (k ? 1 : 0));
  return pos == std::string::npos ? s : s + " " + c.pointer.substr(pos);
}

void print_change(const ValueChange& c) {
  std::cout << "      " << where(c) << ": ";
  if (c.old_image || c.new_image) {
    std::cout << (c.old_image ? image_text(*c.old_image) : "(none)") << " -> "
              << (c.new_image ? image_text(*c.new_image) : "(none)");
    if (c.image_distance >= 0) {
      std::cout << ", perceptual distance " << c.image_distance;
      if (c.image_distance <= 8 && c.old_image->width == c.new_image->width && c.old_image->height == c.new_image->height)
        std::cout << " (the same picture re-encoded?)";
    }
    std::cout << "\n";
    return;
  }
  if (!c.text.empty()) {
    for (const auto& s : c.text) {
      if (s.op == TextSpan::Op::kSame) std::cout << shorten(s.text, 80);
      else if (s.op == TextSpan::Op::kRemoved) std::cout << color("[-" + s.text + "-]", "31");
      else std::cout << color("{+" + s.text + "+}", "32");
    }
    std::cout << "\n";
    return;
  }
  if (c.kind == ValueChange::Kind::kAdded) std::cout << color("added " + shorten(value_text(c.new_value)), "32") << "\n";
  else if (c.kind == ValueChange::Kind::kRemoved) std::cout << color("removed " + shorten(value_text(c.old_value)), "31") << "\n";
  else std::cout << color(shorten(value_text(c.old_value), 70), "31") << " -> " << color(shorten(value_text(c.new_value), 70), "32") << "\n";
}

// A chat row in one line: "user: What is this? [image 3fa9c2d4e5f6] | assistant: fish".
std::string summary(const RowChange& c) {
  const nlohmann::json& r = c.row;
  const char* list = r.is_object() && r.contains("messages") ? "messages" : r.is_object() && r.contains("conversations") ? "conversations" : nullptr;
  if (!list || !r[list].is_array()) return shorten(c.text);
  std::string out;
  for (const auto& m : r[list]) {
    if (!m.is_object()) continue;
    std::string role = m.value(list[0] == 'm' ? "role" : "from", "?"), text;
    const nlohmann::json content = m.contains("content") ? m["content"] : m.contains("value") ? m["value"] : nlohmann::json();
    if (content.is_array()) {
      for (const auto& part : content) {
        if (!part.is_object()) continue;
        if (part.contains("text") && part["text"].is_string()) text += (text.empty() ? "" : " ") + shorten(part["text"].get<std::string>(), 60);
        else if (part.contains("image_url")) {
          std::string url = part["image_url"].is_object() ? part["image_url"].value("url", "") : "";
          size_t sha = url.find("sha256:");
          text += (text.empty() ? "[image " : " [image ") + (sha != std::string::npos ? url.substr(sha + 7, 12) : shorten(url, 40)) + "]";
        }
      }
    } else {
      text = shorten(value_text(content), 60);
    }
    out += (out.empty() ? "" : " | ") + role + ": " + text;
  }
  return out;
}

void print_row(const RowChange& c) {
  const std::string key = c.key.empty() ? "" : " key " + c.key;
  switch (c.kind) {
    case RowChange::Kind::kMoved:
      std::cout << "  " << color("> line " + std::to_string(c.old_line) + " -> " + std::to_string(c.new_line), "36")
                << " moved" << key << "\n";
      return;
    case RowChange::Kind::kModified:
      std::cout << "  " << color("~ line " + std::to_string(c.old_line) + " -> " + std::to_string(c.new_line), "33") << key;
      if (!c.new_json && c.old_json) std::cout << " (no longer valid JSON)";
      if (c.new_json && !c.old_json) std::cout << " (now valid JSON)";
      std::cout << "\n";
      for (const auto& v : c.changes) print_change(v);
      return;
    case RowChange::Kind::kAdded:
    case RowChange::Kind::kRemoved: {
      const bool add = c.kind == RowChange::Kind::kAdded;
      std::string head = add ? "+ line " + std::to_string(c.new_line) : "- line " + std::to_string(c.old_line) + " (old)";
      std::cout << "  " << color(head, add ? "32" : "31") << key;
      if (!(add ? c.new_json : c.old_json)) std::cout << " (not valid JSON)";
      std::cout << ": " << summary(c) << "\n";
      for (const auto& im : c.images) std::cout << "      image " << image_text(im) << "\n";
      return;
    }
  }
}

std::string counts(const TableStat& s) {
  std::string out = "rows +" + std::to_string(s.added) + " -" + std::to_string(s.removed) + " ~" + std::to_string(s.modified);
  if (s.moved) out += " moved " + std::to_string(s.moved);
  out += ", images +" + std::to_string(s.images_added) + " -" + std::to_string(s.images_removed);
  if (s.line_ends_changed) out += ", line ends changed " + std::to_string(s.line_ends_changed);
  if (s.rows_without_key) out += ", " + std::to_string(s.rows_without_key) + " rows without the key";
  return out;
}

std::string file_head(const FileDiff& f) {
  std::string name = f.status == FileDiff::Status::kRenamed ? f.old_path + " -> " + f.path : f.path;
  std::string s = std::string(status_name(f.status));
  s.resize(11, ' ');
  return s + name;
}

std::string sizes(const FileDiff& f) {
  std::string a = f.old_file ? human_bytes(f.old_file->pointer.size) : "", b = f.new_file ? human_bytes(f.new_file->pointer.size) : "";
  if (f.old_file && f.new_file) return a + " -> " + b;
  return f.old_file ? a : b;
}

}  // namespace

void print_stat(const DiffReport& r) {
  size_t width = 0;
  for (const auto& f : r.files) width = std::max(width, file_head(f).size());
  for (const auto& f : r.files) {
    std::string head = file_head(f);
    head.resize(width, ' ');
    std::cout << " " << head << " | " << (f.table ? counts(f.stat) + " | " : "") << sizes(f) << "\n";
  }
  const DiffTotals& t = r.totals;
  std::cout << " " << r.files.size() << (r.files.size() == 1 ? " file" : " files") << " changed (" << t.files_added
            << " added, " << t.files_deleted << " deleted, " << t.files_modified << " modified, " << t.files_renamed
            << " renamed); rows +" << t.rows_added << " -" << t.rows_removed << " ~" << t.rows_modified << " moved "
            << t.rows_moved << "; images +" << t.images_added << " -" << t.images_removed << "; "
            << human_bytes(t.old_bytes) << " -> " << human_bytes(t.new_bytes) << "\n";
}

namespace {

void print_full(const DiffReport& r) {
  for (const auto& f : r.files) {
    std::cout << color(file_head(f), "1") << "  (" << sizes(f);
    if (f.table) std::cout << "; " << f.stat.old_rows << " -> " << f.stat.new_rows << " rows; " << counts(f.stat);
    std::cout << ")\n";
    if (f.old_image || f.new_image)
      std::cout << "  image " << (f.old_image ? image_text(*f.old_image) : "(none)") << " -> "
                << (f.new_image ? image_text(*f.new_image) : "(none)") << "\n";
    for (const auto& c : f.rows) print_row(c);
  }
}

void print_labels(const DiffReport& r, const std::string& field) {
  for (const auto& t : r.labels) {
    std::cout << "\nlabels (" << (field.empty() ? "assistant answer" : field) << ") of "
              << (t.path.empty() ? "all tables" : t.path) << "\n";
    size_t width = 5;
    for (const auto& l : t.labels) width = std::max(width, std::min<size_t>(l.label.size(), 40));
    std::cout << "  " << std::string("label").append(width - 5, ' ') << "      old      new   change\n";
    for (const auto& l : t.labels) {
      std::string name = shorten(l.label, 40);
      name.resize(std::max(name.size(), width), ' ');
      const int64_t change = int64_t(l.new_count) - int64_t(l.old_count);
      char line[96];
      std::snprintf(line, sizeof line, " %8llu %8llu %+8lld", (unsigned long long)l.old_count,
                    (unsigned long long)l.new_count, (long long)change);
      std::cout << "  " << name << (change ? color(line, change > 0 ? "32" : "31") : std::string(line)) << "\n";
    }
  }
}

}  // namespace

void add_diff_commands(CLI::App& app, Global& g, Action& action) {
  auto* cmd = app.add_subcommand("diff", "Show what changed: files, JSONL rows, messages and images");
  struct Args {
    std::vector<std::string> revs;
    bool stat = false, json = false, name_only = false, exit_code = false, labels = false, staged = false;
    std::string key, label_field;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("revs", a->revs,
                  "none: HEAD against the working folder; REV: REV against it; REV_A REV_B or REV_A..REV_B: two "
                  "commits; REV_A...REV_B: REV_B against the merge base of the two")
      ->expected(0, 2);
  cmd->add_flag("--staged,--cached", a->staged, "The index (what the next commit holds) against HEAD, or against REV");
  cmd->add_flag("--stat", a->stat, "Counts per file and in total");
  cmd->add_flag("--name-only", a->name_only, "Only the paths of the changed files");
  cmd->add_option("--key", a->key, "Match JSONL rows by this JSON pointer (e.g. /id)");
  cmd->add_flag("--labels", a->labels, "Label distributions of every table on both sides");
  cmd->add_option("--label-field", a->label_field, "The label is this JSON pointer (default: the assistant's answer)");
  cmd->add_flag("--exit-code", a->exit_code, "Exit with 1 when there are differences");
  cmd->add_flag("--json", a->json, "Print JSON (docs/diff.md)");
  cmd->callback([&g, &action, a] {
    action = [&g, a] {
      DiffOptions o;
      std::vector<std::string> revs = a->revs;
      std::string symmetric;  // A...B: B against merge-base(A, B), resolved once the repository is open
      if (revs.size() == 1)
        if (const auto range = parse_range(revs[0])) {
          if (range->symmetric) symmetric = revs[0];
          revs = {range->a, range->b};
        }
      if (!revs.empty()) o.from = revs[0];
      if (revs.size() == 2) o.to = revs[1];
      o.staged = a->staged;
      if (a->staged && revs.size() == 2)
        fail(ErrorCode::kInvalidInput, "--staged compares the index with one commit (HEAD by default), not two");
      o.paths = g.paths;
      o.key = a->key;
      o.labels = a->labels || !a->label_field.empty();
      o.label_field = a->label_field;
      o.detail = a->name_only ? DiffDetail::kNames : a->stat ? DiffDetail::kStat : DiffDetail::kFull;
      // Two commits only read, unless image facts or label counts are to be cached.
      const bool reads_only = !o.to.empty() && o.detail != DiffDetail::kFull && !o.labels;
      auto repo = open_repo(g, "diff", a->json, reads_only ? Mode::kRead : Mode::kWrite);
      if (!symmetric.empty()) {
        o.from = repo->merge_base(revs[0], revs[1]);
        if (o.from.empty())
          fail(ErrorCode::kNotFound, "'" + revs[0] + "' and '" + revs[1] + "' have no common ancestor, so '" + symmetric +
                                         "' has no base; compare them directly with 'kura diff " + revs[0] + " " +
                                         revs[1] + "'");
      }
      DiffReport r = diff(*repo, o);
      if (a->json) {
        print_json(r.to_json());
      } else if (a->name_only) {
        for (const auto& f : r.files) std::cout << f.path << "\n";
      } else {
        if (a->stat) {
          if (!r.empty()) print_stat(r);
        } else {
          print_full(r);
        }
        if (o.labels) print_labels(r, o.label_field);
      }
      return a->exit_code && !r.empty() ? 1 : 0;
    };
  });
}

}  // namespace kura::cli
