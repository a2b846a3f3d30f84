#include "export/derive.hpp"

#include <chrono>
#include <future>
#include <map>
#include <optional>
#include <set>
#include <unordered_set>

#include "export/example.hpp"
#include "export/formats.hpp"
#include "kura/error.hpp"
#include "kura/store.hpp"
#include "util/base64.hpp"
#include "util/fs.hpp"
#include "util/parallel.hpp"

namespace kura::exporter {

namespace {

std::string base_of(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

const ExportFormat& find_format(const std::string& name) {
  for (const auto& f : export_formats())
    if (name == f.name) return f;
  std::string names;
  for (const auto& f : export_formats()) names += std::string(names.empty() ? "" : ", ") + f.name;
  fail(ErrorCode::kInvalidInput, "unknown export format '" + name + "'; the formats are " + names +
                                     " (kura export --list-formats says what each holds)");
}

struct SplitCounts {
  std::vector<std::string> tables;
  uint64_t rows = 0, blank = 0, in = 0, out = 0, cannot_express = 0, unreadable = 0, tokens = 0;
  std::map<std::string, uint64_t> excluded;
  nlohmann::json to_json() const {
    return {{"tables", tables}, {"rows", rows},         {"blank_lines", blank},         {"examples_in", in},
            {"examples_out", out}, {"excluded", excluded}, {"cannot_express", cannot_express},
            {"unreadable", unreadable}, {"estimated_tokens", tokens}};
  }
};

// The committed bytes of one table (rows, images re-inlined, line ends),
// hashed as the export reads them and compared with the SHA-256 recorded at
// commit: what checks the rows and images read without their own SHA-256
// (ObjectCheck::kByCaller, openai with inline images). While the rows go out
// unchanged from the start of an output file, that file's own hash is this
// hash and nothing is hashed twice; at the first row that goes out otherwise
// (or not at all) the file's hash so far is copied and carried on alone.
class TableHash {
 public:
  TableHash(const FileEntry& table, const Output::File* file)
      : table_(table), file_(file), aligned_(file && file->size() == 0) {
    if (!aligned_) hash_.emplace();
  }

  // Row `row` (ending `end`), read before the export writes anything of it;
  // `as_is`: it is about to go out as body, images and "\n" exactly.
  void row(const Row& row, LineEnd end, bool as_is, Output& out) {
    if (aligned_ && as_is && end == LineEnd::kLf) return;  // the file's hash covers it
    if (aligned_) {
      hash_.emplace(file_->hash_so_far());
      size_ = file_->size();
      aligned_ = false;
    }
    size_t copied = 0;
    for (const RowImage& image : row.images) {
      update(std::string_view(row.body).substr(copied, image.offset - copied));
      scratch_.clear();
      base64_append(out.image_bytes(image.media), scratch_);
      update(scratch_);
      copied = image.offset;
    }
    update(std::string_view(row.body).substr(copied));
    update(end == LineEnd::kLf ? "\n" : end == LineEnd::kCrLf ? "\r\n" : "");
  }

  // After the table's last row is written: Error(kCorrupt) when the bytes
  // read are not the file that was committed.
  void finish() {
    const ObjectId got = aligned_ ? file_->hash_so_far().finish() : hash_->finish();
    const uint64_t size = aligned_ ? file_->size() : size_;
    if (got != table_.pointer.file_sha || size != table_.pointer.size)
      fail(ErrorCode::kCorrupt, "'" + table_.path + "' rebuilt from its rows does not match the SHA-256 recorded at "
                                "commit (damaged on disk); the export is incomplete and has no kura-export.json; "
                                "run 'kura fsck'");
  }

 private:
  void update(std::string_view bytes) {
    hash_->update(bytes);
    size_ += bytes.size();
  }
  const FileEntry& table_;
  const Output::File* file_;
  bool aligned_;
  std::optional<Sha256> hash_;
  uint64_t size_ = 0;
  std::string scratch_;
};

bool blank(const Row& row) { return row.body.find_first_not_of(" \t\r") == std::string::npos; }

nlohmann::json left_out_json(const std::vector<LeftOut>& list) {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& l : list) j.push_back({{"path", l.path}, {"line", l.line}, {"rule", l.rule}, {"why", l.why}});
  return j;
}

}  // namespace

nlohmann::json canonical_options(const ExportOptions& o) {
  // Splits left to the default are null: then a split without a table is
  // skipped, while a named one must exist.
  return {{"images", o.images}, {"splits", o.splits.empty() ? nlohmann::json() : nlohmann::json(o.splits)},
          {"include_excluded", o.include_excluded},
          {"allow_check_errors", o.allow_check_errors}};
}

void derive(Repo& repo, const std::string& commit, const ExportOptions& given, Output& out, ExportResult& result) {
  const ExportFormat& format = find_format(given.format);
  ExportOptions o = given;
  if (o.images.empty()) o.images = format.inline_images ? "inline" : "files";
  if (o.images != "inline" && o.images != "files")
    fail(ErrorCode::kInvalidInput, "--images must be inline or files, not '" + o.images + "'");
  if (o.images == "inline" && !format.inline_images)
    fail(ErrorCode::kInvalidInput, std::string("--format ") + format.name +
                                       " writes images as files; --images inline works with --format openai");
  if (std::string(format.name) == "files") o.splits.clear(), o.include_excluded = false;
  const nlohmann::json options_json = canonical_options(o);
  if (o.splits.empty()) o.splits = {"train", "validation"};
  std::set<std::string> seen;
  for (const auto& s : o.splits)
    if (s.empty() || s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") !=
                         std::string::npos || !seen.insert(s).second)
      fail(ErrorCode::kInvalidInput, "--split '" + s + "': give distinct names of letters, digits, '-' and '_' "
                                     "(train, validation or NAME for NAME.jsonl)");

  auto& m = result.manifest;
  m = nlohmann::json::object();
  result.commit = commit;
  m["commit"] = commit;
  m["format"] = format.name;
  m["options"] = options_json;
  m["kura_version"] = version();
  m["cannot_carry"] = format.cannot_carry;
  result.export_id = sha256(nlohmann::json({{"commit", commit}, {"format", format.name}, {"options", m["options"]}}).dump()).hex();
  m["export_id"] = result.export_id;
  Ticker ticker{given.progress};

  if (std::string(format.name) == "files") {
    write_files(repo, commit, out, result, ticker);
  } else {
    std::string source;
    CheckReport report = repo.report_for(commit, 0, &source);
    if (!o.allow_check_errors) report.refuse_errors(commit, "export");
    m["checks"] = {{"source", source}, {"errors", report.summary.errors}, {"warnings", report.summary.warnings},
                   {"excluded", report.summary.excluded}};
    std::map<std::pair<std::string, uint64_t>, std::string> rule_of;  // what excludes each line
    for (const auto& f : report.findings)
      if (f.excluded) rule_of.emplace(std::make_pair(f.path, f.line), f.rule);
    const Policy policy = repo.policy_for(CheckScope::kRevision, commit);
    const TokenEstimator tokens(repo.store(), policy);
    const std::vector<FileEntry> all = repo.ls_files(commit);
    std::map<std::string, std::optional<FileEntry>> looked_up;
    FileLookup lookup = [&](const std::string& path) -> std::optional<FileEntry> {
      auto it = looked_up.find(path);
      if (it == looked_up.end()) it = looked_up.emplace(path, repo.file_at(commit, path)).first;
      return it->second;
    };
    std::vector<std::string> splits;
    std::map<std::string, SplitCounts> counts;
    for (const auto& split : o.splits) {
      const std::string base = split == "train" ? policy.train_file
                               : split == "validation" ? policy.validation_file : split + ".jsonl";
      SplitCounts c;
      for (const auto& f : all)
        if (f.pointer.kind == FileKind::kTable && base_of(f.path) == base) {
          c.tables.push_back(f.path);
          ticker.p.total += f.pointer.rows;
        }
      if (c.tables.empty()) {
        if (!given.splits.empty())
          fail(ErrorCode::kInvalidInput, "--split " + split + ": commit " + commit.substr(0, 12) + " has no table named " + base);
        continue;
      }
      splits.push_back(split);
      counts[split] = std::move(c);
    }
    if (splits.empty())
      fail(ErrorCode::kInvalidInput, "commit " + commit.substr(0, 12) + " has no " + policy.train_file + " or " +
                                         policy.validation_file + " to export; --split NAME exports NAME.jsonl, and "
                                         "--format files writes every file as committed");
    FormatStats stats;
    const bool inline_images = o.images == "inline";
    std::unique_ptr<Format> writer = make_format(format.name, out, inline_images, stats);
    std::vector<LeftOut> kept_excluded;
    std::map<std::string, uint64_t> dropped;
    Store& store = repo.store();
    // Inline images go out with their rows, and their table's SHA-256 checks
    // both (TableHash); images written as files are checked one by one, their
    // SHA-256 being the file's, and read once: an image already read for an
    // earlier chunk is not read ahead again (Output::image reads it should a
    // new folder need it).
    const ObjectCheck check = inline_images ? ObjectCheck::kByCaller : ObjectCheck::kSha256;
    std::unordered_set<ObjectId, ObjectIdHash> fetched;  // only by load(), which never runs twice at once
    auto image_tokens_of = [&tokens](const Example& ex) {
      uint64_t t = 0;
      for (const Image& img : ex.images)
        if (img.remote_url.empty()) t += tokens.image_tokens(img.media, img.detail);
      return t;
    };
    for (const auto& split : splits) {
      SplitCounts& c = counts[split];
      writer->begin(split);
      for (const auto& path : c.tables) {
        const FileEntry table = *lookup(path);
        uint64_t line = 0;
        // Rows and their images are read from the store on all cores, a chunk
        // at a time and one chunk ahead: while this thread writes a chunk's
        // rows in order, the next chunk is read.
        struct Loaded {
          std::vector<RowRef> refs;
          std::vector<Row> rows;
          std::vector<uint64_t> text_tokens, image_tokens;  // of each row (TokenEstimator is thread-safe)
          // Each row read as an example (nullopt and `why` when it is not
          // one); `again`: it names an image by path, which this thread
          // cannot look up (the lookup is the writing thread's), so the
          // writing thread reads it once more.
          std::vector<std::optional<Example>> examples;
          std::vector<std::string> why;
          std::vector<char> again;
          Output::Prefetch images;
        };
        const std::vector<ManifestChunk> chunks = read_manifest_chunks(store, table.pointer.object);
        auto load = [&store, &out, &chunks, &fetched, &tokens, &image_tokens_of, &path, check, inline_images](size_t k) {
          Loaded l;
          l.refs = read_chunk(store, chunks[k]);
          std::vector<ObjectId> ids;
          ids.reserve(l.refs.size());
          for (const RowRef& r : l.refs) ids.push_back(r.row);
          std::vector<std::string> bytes = read_objects(store, ids, check);
          const size_t n = l.refs.size();
          l.rows.resize(n);
          l.text_tokens.resize(n);
          l.image_tokens.resize(n);
          l.examples.resize(n);
          l.why.resize(n);
          l.again.resize(n);
          // Each row on its own: decoded, its text tokens read from the
          // checks' cache, parsed as an example and its images' tokens.
          parallel_for(n, 0, [&](size_t i) {
            l.rows[i] = decode_row(bytes[i], l.refs[i].row);
            l.text_tokens[i] = tokens.text_tokens(l.refs[i].row, l.rows[i]);
            if (blank(l.rows[i])) return;
            bool looked = false;
            const FileLookup none = [&looked](const std::string&) -> std::optional<FileEntry> {
              looked = true;
              return std::nullopt;
            };
            l.examples[i] = read_example(store, l.rows[i], path, none, &l.why[i]);
            l.again[i] = looked;
            if (l.examples[i]) l.image_tokens[i] = image_tokens_of(*l.examples[i]);
          });
          std::vector<ObjectId> media;
          for (const Row& row : l.rows)
            for (const RowImage& img : row.images)
              if (inline_images || fetched.insert(img.media).second) media.push_back(img.media);
          l.images = out.fetch(media, check);
          return l;
        };
        std::optional<TableHash> table_hash;
        if (inline_images) table_hash.emplace(table, writer->file());
        std::future<Loaded> ahead;
        if (!chunks.empty()) ahead = std::async(std::launch::async, load, 0);
        for (size_t k = 0; k < chunks.size(); ++k) {
          Loaded loaded = ahead.get();
          if (k + 1 < chunks.size()) ahead = std::async(std::launch::async, load, k + 1);
          const std::vector<RowRef>& refs = loaded.refs;
          const std::vector<Row>& rows = loaded.rows;
          out.take(std::move(loaded.images));
          for (size_t i = 0; i < refs.size(); ++i) {
            const RowRef& ref = refs[i];
            const Row& row = rows[i];
            auto not_as_is = [&] {
              if (table_hash) table_hash->row(row, ref.end, false, out);
            };
            ++line, ++c.rows, ++ticker.p.done;
            ticker.tick(out);
            if (blank(row)) {
              ++c.blank;
              not_as_is();
              continue;
            }
            ++c.in;
            auto leave = [&](std::string rule, std::string why, std::vector<LeftOut>* list = nullptr) {
              (list ? *list : result.left_out).push_back({path, line, std::move(rule), std::move(why)});
            };
            if (report.excludes(path, line)) {
              auto it = rule_of.find({path, line});
              const std::string rule = it == rule_of.end() ? "checks" : it->second;
              if (!o.include_excluded) {
                ++c.excluded[rule];
                leave(rule, "excluded by the checks");
                not_as_is();
                continue;
              }
              leave(rule, "excluded by the checks; kept (--include-excluded)", &kept_excluded);
            }
            std::string& why = loaded.why[i];
            std::optional<Example>& ex = loaded.examples[i];
            if (loaded.again[i]) ex = read_example(store, row, path, lookup, &why);
            if (!ex) {
              ++c.unreadable;
              leave("export.unreadable", why);
              not_as_is();
              continue;
            }
            bool skip = false;
            for (const Image& img : ex->images)
              if (!img.file.empty() && report.excludes(img.file, 0)) {
                auto it = rule_of.find({img.file, 0});
                const std::string rule = it == rule_of.end() ? "checks" : it->second;
                if (o.include_excluded) {
                  leave(rule, "its image " + img.file + " is excluded by the checks; kept (--include-excluded)", &kept_excluded);
                } else if (!skip) {
                  ++c.excluded[rule];
                  leave(rule, "its image " + img.file + " is excluded by the checks");
                  skip = true;
                }
              }
            if (skip) {
              not_as_is();
              continue;
            }
            if (table_hash) table_hash->row(row, ref.end, writer->as_committed(*ex), out);
            if (auto cannot = writer->add(*ex, path + ":" + std::to_string(line))) {
              ++c.cannot_express;
              leave("export.cannot_express", std::string(format.name) + " cannot express it: " + *cannot);
              continue;
            }
            ++c.out;
            c.tokens += loaded.text_tokens[i] + (loaded.again[i] ? image_tokens_of(*ex) : loaded.image_tokens[i]);
            if (std::string(format.name) != "openai")
              for (const auto& f : ex->fields) ++dropped[f];
          }
        }
        if (table_hash) table_hash->finish();
      }
      writer->end();
    }
    writer->finish(splits);
    nlohmann::json split_json = nlohmann::json::object();
    for (const auto& split : splits) {
      const SplitCounts& c = counts[split];
      split_json[split] = c.to_json();
      result.examples_in += c.in;
      result.examples_out += c.out;
    }
    result.estimated_tokens = counts.count("train") ? counts["train"].tokens : 0;
    m["splits"] = split_json;
    m["estimated_training_tokens_per_epoch"] = result.estimated_tokens;
    m["dropped_fields"] = dropped;
    m["notes"] = {{"data_uri_type_differs_from_bytes", stats.mime_mismatches},
                  {"duplicate_images_merged", stats.duplicate_images},
                  {"remote_images_kept_as_urls", stats.remote_images}};
    m["left_out"] = left_out_json(result.left_out);
    m["kept_excluded"] = left_out_json(kept_excluded);
    m["counts"] = {{"examples_in", result.examples_in}, {"examples_out", result.examples_out},
                   {"left_out", result.left_out.size()}, {"images", out.images()},
                   {"image_bytes", out.image_bytes_written()}};
  }
  nlohmann::json files = nlohmann::json::object();
  for (const auto& [path, rec] : out.files()) files[path] = {{"sha256", rec.sha256}, {"bytes", rec.bytes}};
  m["files"] = files;
  m["counts"]["files"] = out.files().size();
  m["counts"]["bytes"] = out.bytes();
  result.files_written = out.files().size();
  result.bytes_written = out.bytes();
  result.images_written = out.images();
  ticker.tick(out, true);
}

}  // namespace kura::exporter
