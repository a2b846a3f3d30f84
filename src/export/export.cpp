// export_commit and verify_export: the folder rules, the manifest written
// last, and the comparison of a folder with its re-derived export.
#include <algorithm>
#include <set>

#include "export/derive.hpp"
#include "kura/error.hpp"
#include "util/fs.hpp"

namespace kura {

namespace fs = std::filesystem;
using exporter::kManifestName;

const std::vector<ExportFormat>& export_formats() {
  static const std::vector<ExportFormat> kFormats = {
      {"openai", "chat \"messages\" JSONL, images as data URIs (--images inline) or files",
       "OpenAI and Azure OpenAI fine-tuning, Together, Fireworks", true, {}},
      {"llava", "one JSON list of {id, image, conversations: [{from: human|gpt, value}]}, images as files",
       "LLaVA's training scripts", false,
       {"detail", "weight", "name", "top-level keys but messages", "system messages (prepended to the first human turn)",
        "several images in one example", "images outside user messages", "tool calls", "remote image URLs"}},
      {"sharegpt", "LLaMA-Factory's {conversations, system, images} JSONL with dataset_info.json, images as files",
       "LLaMA-Factory", false,
       {"detail", "weight", "name", "top-level keys but messages", "system messages after the first turn",
        "images outside user messages", "tool calls", "remote image URLs"}},
      {"axolotl", "\"messages\" JSONL with content parts {type: image, path} and {type: text}, images as files",
       "Axolotl, Unsloth", false,
       {"detail", "weight", "name", "top-level keys but messages", "images outside user messages", "tool calls",
        "remote image URLs"}},
      {"hf-imagefolder", "train/ and validation/ folders of images with metadata.jsonl (file_name, source, system, prompt, text)",
       "Hugging Face datasets.load_dataset(\"imagefolder\")", false,
       {"detail", "weight", "name", "top-level keys but messages", "multi-turn conversations",
        "examples without exactly one image", "remote image URLs"}},
      {"classes", "train/<label>/<image> folders, the label being the assistant's answer",
       "torchvision ImageFolder, Keras image_dataset_from_directory", false,
       {"detail", "weight", "name", "top-level keys but messages", "all text but the last assistant answer",
        "examples without exactly one image", "remote image URLs"}},
      {"files", "the commit's files exactly as committed, like git archive (nothing left out)", "anything", false, {}},
  };
  return kFormats;
}

namespace {

// OUTDIR must be new or empty (or force), and not the working folder or .kura/.
void prepare_folder(Repo& repo, const fs::path& outdir, bool force, ExportResult& result) {
  std::error_code ec;
  const fs::path abs = fs::weakly_canonical(fs::absolute(outdir), ec);
  const fs::path root = fs::weakly_canonical(repo.root(), ec);
  const std::string rel = abs.lexically_relative(root).generic_string();
  if (abs == root || rel == ".kura" || rel.rfind(".kura/", 0) == 0)
    fail(ErrorCode::kInvalidInput, "'" + outdir.string() + "' is the working folder or inside .kura/; export to another folder");
  if (!fs::exists(outdir, ec)) {
    fs::create_directories(outdir, ec);
    if (ec) fail(ErrorCode::kIo, "cannot create '" + outdir.string() + "': " + ec.message());
    return;
  }
  if (!fs::is_directory(outdir, ec)) fail(ErrorCode::kInvalidInput, "'" + outdir.string() + "' exists and is not a folder");
  std::vector<std::string> present;
  for (auto it = fs::directory_iterator(outdir, ec); !ec && it != fs::directory_iterator(); it.increment(ec))
    present.push_back(it->path().filename().string());
  if (ec) fail(ErrorCode::kIo, "cannot read '" + outdir.string() + "': " + ec.message());
  if (present.empty()) return;
  std::sort(present.begin(), present.end());
  if (!force)
    fail(ErrorCode::kConflict, "'" + outdir.string() + "' is not empty (" + std::to_string(present.size()) +
                                   " entries, e.g. '" + present[0] + "'); give a new or empty folder, or --force to write into it");
  // An earlier export: remove what its manifest says it wrote (the manifest first).
  const fs::path old = outdir / kManifestName;
  if (fs::exists(old, ec)) {
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(MappedFile(old).bytes());
    } catch (const nlohmann::json::exception&) {
      fail(ErrorCode::kInvalidInput, old.string() + " is not valid JSON; remove it and export again");
    }
    fs::remove(old, ec);
    if (j.contains("files") && j["files"].is_object())
      for (auto& [path, rec] : j["files"].items()) {
        check_tree_path(path);
        fs::remove(outdir / path, ec);
        // and the folders it made, once empty
        for (fs::path dir = fs::path(path).parent_path(); !dir.empty(); dir = dir.parent_path())
          if (!fs::remove(outdir / dir, ec)) break;
      }
  }
  for (auto it = fs::recursive_directory_iterator(outdir, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
    if (!it->is_directory()) ++result.foreign_files;
}

// Every file under `dir` (links too, not followed), '/'-separated, sorted.
std::map<std::string, std::string> hash_folder(const fs::path& dir) {
  std::map<std::string, std::string> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const std::string rel = it->path().lexically_relative(dir).generic_string();
    if (it->is_symlink()) out[rel] = sha256(fs::read_symlink(it->path()).string()).hex();
    else if (it->is_regular_file()) out[rel] = sha256(MappedFile(it->path()).bytes()).hex();
  }
  if (ec) fail(ErrorCode::kIo, "cannot read '" + dir.string() + "': " + ec.message());
  return out;
}

}  // namespace

ExportResult export_commit(Repo& repo, const fs::path& outdir, const ExportOptions& options) {
  ExportResult result;
  const std::string commit = repo.resolve(options.rev.empty() ? "HEAD" : options.rev).id;
  prepare_folder(repo, outdir, options.force, result);
  exporter::Output out(outdir, exporter::Output::Mode::kWrite, repo.store());
  exporter::derive(repo, commit, options, out, result);
  out.sync();
  write_file_atomic(outdir / kManifestName, result.manifest.dump(2) + "\n");
  sync_dir(outdir);
  return result;
}

VerifyResult verify_export(Repo& repo, const fs::path& outdir, const std::string& rev) {
  const fs::path manifest_path = outdir / kManifestName;
  std::error_code ec;
  if (!fs::exists(manifest_path, ec))
    fail(ErrorCode::kNotFound, "'" + outdir.string() + "' has no " + kManifestName +
                                   ": not a kura export, or one that did not finish");
  const std::string text(MappedFile(manifest_path).bytes());
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception&) {
    fail(ErrorCode::kInvalidInput, manifest_path.string() + " is not valid JSON");
  }
  VerifyResult v;
  ExportOptions o;
  try {
    v.commit = j.at("commit").get<std::string>();
    v.format = j.at("format").get<std::string>();
    const auto& opts = j.at("options");
    o.format = v.format;
    o.rev = v.commit;
    o.images = opts.at("images").get<std::string>();
    if (!opts.at("splits").is_null()) o.splits = opts["splits"].get<std::vector<std::string>>();
    o.include_excluded = opts.at("include_excluded").get<bool>();
    o.allow_check_errors = opts.at("allow_check_errors").get<bool>();
  } catch (const nlohmann::json::exception& e) {
    fail(ErrorCode::kInvalidInput, manifest_path.string() + " lacks the commit, format or options of an export (" +
                                       e.what() + ")");
  }
  if (!rev.empty()) {
    const std::string want = repo.resolve(rev).id;
    if (want != v.commit)
      v.differences.push_back({kManifestName, "made from commit " + v.commit.substr(0, 12) + ", not " + rev + " (" +
                                                  want.substr(0, 12) + ")"});
  }
  ExportResult expected;
  exporter::Output out(outdir, exporter::Output::Mode::kHashOnly, repo.store());
  exporter::derive(repo, repo.resolve(v.commit).id, o, out, expected);
  v.export_id = expected.export_id;
  std::map<std::string, std::string> found = hash_folder(outdir);
  found.erase(kManifestName);
  std::set<std::string> paths;
  for (const auto& [p, r] : out.files()) paths.insert(p);
  for (const auto& [p, h] : found) paths.insert(p);
  for (const auto& p : paths) {
    auto want = out.files().find(p);
    auto got = found.find(p);
    if (got == found.end()) v.differences.push_back({p, "missing"});
    else if (want == out.files().end()) v.differences.push_back({p, "not part of the export"});
    else if (want->second.sha256 != got->second)
      v.differences.push_back({p, "SHA-256 differs (expected " + want->second.sha256.substr(0, 16) + "…, found " +
                                      got->second.substr(0, 16) + "…)"});
    ++v.files_checked;
  }
  const std::string derived = expected.manifest.dump(2) + "\n";
  if (derived != text) {
    size_t at = 0;
    while (at < derived.size() && at < text.size() && derived[at] == text[at]) ++at;
    v.differences.push_back({kManifestName, "differs from the re-derived manifest from byte " + std::to_string(at)});
  }
  std::stable_sort(v.differences.begin(), v.differences.end(),
                   [](const ExportDifference& a, const ExportDifference& b) { return a.path < b.path; });
  v.ok = v.differences.empty();
  return v;
}

}  // namespace kura
