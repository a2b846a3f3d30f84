// kura export: a commit in a trainer's format, --verify, --list-formats.
#include <unistd.h>

#include <iostream>

#include "commands.hpp"
#include "kura/error.hpp"
#include "kura/export.hpp"

namespace kura::cli {

namespace {

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = std::min(s.find(',', start), s.size());
    out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::string thousands(uint64_t n) {
  std::string s = std::to_string(n);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<size_t>(i), ",");
  return s;
}

int list_formats(bool json) {
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& f : export_formats())
      out.push_back({{"name", f.name}, {"what", f.what}, {"trainers", f.trainers},
                     {"images", f.inline_images ? "inline (default) or files" : "files"},
                     {"cannot_carry", f.cannot_carry}});
    print_json(out);
    return 0;
  }
  for (const auto& f : export_formats()) {
    std::cout << color(f.name, "33") << "  " << f.what << "\n    for: " << f.trainers << "\n";
    if (!f.cannot_carry.empty()) {
      std::cout << "    cannot carry:";
      for (size_t i = 0; i < f.cannot_carry.size(); ++i) std::cout << (i ? ", " : " ") << f.cannot_carry[i];
      std::cout << "\n";
    }
  }
  return 0;
}

void print_summary(const ExportResult& r, const std::string& outdir) {
  const auto& m = r.manifest;
  std::cout << "exported commit " << r.commit.substr(0, 12) << " as " << m["format"].get<std::string>() << " to "
            << outdir << "\n";
  if (m.contains("splits"))
    for (auto& [name, s] : m["splits"].items()) {
      std::cout << "  " << name << ": " << thousands(s["examples_out"]) << " of " << thousands(s["examples_in"])
                << " examples";
      std::string why;
      for (auto& [rule, n] : s["excluded"].items()) why += (why.empty() ? "" : ", ") + thousands(n) + " excluded by " + rule;
      if (s["cannot_express"] > 0) why += (why.empty() ? "" : ", ") + thousands(s["cannot_express"]) + " not expressible";
      if (s["unreadable"] > 0) why += (why.empty() ? "" : ", ") + thousands(s["unreadable"]) + " unreadable";
      std::cout << (why.empty() ? "" : " (" + why + ")") << "\n";
    }
  std::cout << "  " << thousands(r.files_written) << " files, " << thousands(r.images_written) << " images, "
            << human_bytes(r.bytes_written) << "\n";
  if (m.contains("estimated_training_tokens_per_epoch"))
    std::cout << "  estimated training tokens per epoch: " << thousands(r.estimated_tokens)
              << " (text/4 plus the image tile formula, as jsonl.too_long)\n";
  const size_t shown = std::min<size_t>(r.left_out.size(), 10);
  for (size_t i = 0; i < shown; ++i) {
    const auto& l = r.left_out[i];
    std::cout << "  left out " << l.path << (l.line ? ":" + std::to_string(l.line) : "") << " " << l.rule << ": "
              << l.why << "\n";
  }
  if (r.left_out.size() > shown)
    std::cout << "  ... and " << r.left_out.size() - shown << " more left out (all listed in kura-export.json)\n";
  if (r.foreign_files)
    std::cout << "  note: " << r.foreign_files << " files already in " << outdir << " are not part of this export\n";
  std::cout << "export id " << r.export_id << " (kura export --verify " << outdir << " checks the folder against it)\n";
}

}  // namespace

void add_export_commands(CLI::App& app, Global& g, Action& action) {
  auto* cmd = app.add_subcommand("export", "Write a checked commit in a trainer's format, with a verifiable manifest");
  struct Args {
    ExportOptions o;
    std::string outdir, splits, verify, rev;
    bool list = false, json = false;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("outdir", a->outdir, "Folder to write (new or empty)");
  cmd->add_option("--format", a->o.format, "openai, llava, sharegpt, axolotl, hf-imagefolder, classes or files");
  cmd->add_option("--rev", a->rev, "Commit to export (default HEAD)");
  cmd->add_option("--split", a->splits, "Splits, comma-separated (default train,validation)");
  cmd->add_option("--images", a->o.images, "inline (data URIs, openai) or files");
  cmd->add_flag("--include-excluded", a->o.include_excluded, "Keep the examples the checks exclude");
  cmd->add_flag("--allow-check-errors", a->o.allow_check_errors, "Export even if the commit's checks found errors");
  cmd->add_flag("--force", a->o.force, "Write into a folder that is not empty");
  cmd->add_option("--verify", a->verify, "Check that this folder is exactly what its manifest's commit exports to");
  cmd->add_flag("--list-formats", a->list, "List the formats and what each cannot carry");
  cmd->add_flag("--json", a->json, "Print JSON");
  cmd->callback([&g, &action, a] {
    action = [&g, a] {
      if (a->list) return list_formats(a->json);
      if (!a->verify.empty()) {
        if (!a->outdir.empty() || !a->o.format.empty())
          fail(ErrorCode::kInvalidInput, "--verify takes the folder only: kura export --verify OUTDIR [--rev REV]");
        auto repo = open_repo(g, "export", a->json);
        VerifyResult v = verify_export(*repo, a->verify, a->rev);
        if (a->json) {
          nlohmann::json d = nlohmann::json::array();
          for (const auto& x : v.differences) d.push_back({{"path", x.path}, {"what", x.what}});
          print_json({{"ok", v.ok}, {"commit", v.commit}, {"format", v.format}, {"export_id", v.export_id},
                      {"files_checked", v.files_checked}, {"differences", d}});
        } else if (v.ok) {
          std::cout << "ok: " << a->verify << " is exactly the " << v.format << " export of commit "
                    << v.commit.substr(0, 12) << " (" << v.files_checked << " files, export id "
                    << v.export_id.substr(0, 16) << ")\n";
        } else {
          std::cout << "differs: " << v.differences[0].path << ": " << v.differences[0].what << "\n";
          for (size_t i = 1; i < v.differences.size() && i < 20; ++i)
            std::cout << "  also " << v.differences[i].path << ": " << v.differences[i].what << "\n";
          if (v.differences.size() > 20) std::cout << "  ... " << v.differences.size() - 20 << " more\n";
        }
        return v.ok ? 0 : 1;
      }
      if (a->o.format.empty() || a->outdir.empty())
        fail(ErrorCode::kInvalidInput, "kura export needs --format FORMAT and OUTDIR (kura export --list-formats lists the formats)");
      if (!a->splits.empty()) a->o.splits = split_list(a->splits);
      if (!a->rev.empty()) a->o.rev = a->rev;
      auto repo = open_repo(g, "export", a->json);
      if (!g.quiet && !a->json && ::isatty(STDERR_FILENO)) {
        auto bar = std::make_shared<ProgressBar>();
        a->o.progress = [bar](const Progress& p) { bar->update(p); };
      }
      ExportResult r = export_commit(*repo, a->outdir, a->o);
      a->o.progress = nullptr;
      if (a->json) {
        nlohmann::json j = r.manifest;
        j.erase("files");
        j["outdir"] = a->outdir;
        j["foreign_files"] = r.foreign_files;
        print_json(j);
      } else if (!g.quiet) {
        print_summary(r, a->outdir);
      }
      return 0;
    };
  });
}

}  // namespace kura::cli
