// run_checks: rows and images of the given files, then the dataset-level
// rules (counts, duplicates, leakage), then the user's hook.
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cctype>
#include <memory>
#include <functional>
#include <optional>
#include <set>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include "check/fetch.hpp"
#include "check/hook.hpp"
#include "check/image_rules.hpp"
#include "check/likeness.hpp"
#include "check/row_check.hpp"
#include "check/rules.hpp"
#include "kura/image_facts.hpp"
#include "kura/error.hpp"
#include "kura/objects.hpp"
#include "kura/store.hpp"
#include "util/parallel.hpp"

namespace kura {

namespace {

using check::image_extension;
using check::ImageUse;
using check::RowResult;

struct Use {
  std::string path;
  uint64_t line = 0;  // 0: an image file of the folder
  int message_index = -1, content_index = -1;
  std::string media;  // hex
  std::string declared, detail;
  bool remote = false;  // downloaded with --fetch: `declared` is the Content-Type's
  std::string field{};  // where the row names it, for messages ("images[0]"); may be empty
};

// An image downloaded by --fetch: its object, or why there is none.
struct Remote {
  std::string media;     // hex id of the stored bytes
  std::string declared;  // subtype of the response's image/... content type
  std::string error;
};

// Downloads the URLs of `results` not fetched yet, several at a time, and
// stores what arrives as objects (checked like any image, cached by id).
void fetch_remote(Store& store, const std::vector<RowResult>& results, const CheckOptions& options,
                  std::unordered_map<std::string, Remote>& fetched) {
  std::vector<std::string> urls;
  for (const RowResult& r : results)
    for (const ImageUse& u : r.images)
      if (u.kind == ImageUse::kRemote && fetched.emplace(u.ref, Remote{}).second) urls.push_back(u.ref);
  if (urls.empty()) return;
  check::FetchLimits limits;
  limits.timeout = options.fetch_timeout;
  std::vector<Remote> got(urls.size());
  std::atomic<uint64_t> done{0};
  parallel_for(
      urls.size(), options.fetch_connections,
      [&](size_t i) {
        check::Fetched f = check::fetch_url(urls[i], limits);
        if (!f.ok) {
          got[i].error = f.error;
        } else {
          got[i].media = store.put_object(f.bytes).hex();
          std::string type = f.content_type.substr(0, f.content_type.find(';'));
          for (auto& ch : type) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
          if (type.rfind("image/", 0) == 0) got[i].declared = type.substr(6);
        }
        ++done;
      },
      [&] {
        if (options.progress) options.progress({"downloading images", done.load(), urls.size(), 0, 0});
      });
  for (size_t i = 0; i < urls.size(); ++i) fetched[urls[i]] = std::move(got[i]);
}

std::string dir_of(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "" : path.substr(0, slash);
}

std::string base_of(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

bool json_extension(const std::string& path) {
  if (path.size() < 5) return false;
  std::string ext = path.substr(path.size() - 5);
  for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext == ".json";
}

// "field: " before a message about an image the row names in `field`.
std::string field_prefix(const std::string& field) { return field.empty() ? "" : field + ": "; }

// The examples of a .json file holding an array of them (one compact JSON
// text each), for the profiles whose trainers read such files; nullopt when
// the file is JSON but not an array (a config such as dataset_info.json).
// Sets `error` when it is not JSON at all.
std::optional<std::vector<std::string>> json_array_elements(const std::string& bytes, std::string& error) {
  nlohmann::ordered_json doc;
  try {
    doc = nlohmann::ordered_json::parse(bytes);
  } catch (const nlohmann::json::exception& e) {
    const std::string what = e.what();
    const size_t colon = what.find("] ");
    error = "not valid JSON: " + (colon == std::string::npos ? what : what.substr(colon + 2));
    return std::nullopt;
  }
  if (!doc.is_array()) return std::nullopt;
  std::vector<std::string> out;
  out.reserve(doc.size());
  for (auto& element : doc) {
    out.push_back(element.dump());
    element = nullptr;  // free as we go: the file may be large
  }
  return out;
}

// How a confirmed near-duplicate is alike, for its message.
std::string same_picture_words(int distance, const check::Likeness& alike) {
  char score[16];
  std::snprintf(score, sizeof score, "%.3f", alike.score);
  std::string how = alike.kept_percent < 100
                        ? "a crop of the same picture (" + std::to_string(alike.kept_percent) + "% of its area"
                        : std::string(alike.score >= 0.9995 ? "the same picture re-encoded (" : "a near-identical image (");
  return how + (alike.kept_percent < 100 ? ", " : "") + "pHash distance " + std::to_string(distance) +
         ", pixel correlation " + score + ")";
}

std::string where(const std::string& path, uint64_t line) {
  return line ? path + " line " + std::to_string(line) : path;
}

struct Similar {
  size_t a, b;  // indexes into uses, a < b
  int distance;
  check::Likeness likeness;  // score 1, kept 100 for the same bytes
};

// For each use, the earliest earlier use of the same picture for which
// `relevant` holds: the same bytes, or a pHash within `threshold` that the
// pixels confirm (check::same_picture). Where `crop_relevant` holds too, a
// pair whose whole pictures hash apart is still a candidate when one's pHash
// is within `threshold` of a crop hash of the other's (Facts::crops): a
// training photo cropped by a few percent. Hashes are indexed by their four
// 16-bit quarters: two hashes within distance 7 have a quarter that differs
// in at most one bit, so a look-up of each quarter and its 16 one-bit
// neighbours finds every candidate and this is not quadratic; a bucket is
// searched for at most kMaxCandidates entries.
std::vector<Similar> similar_pairs(const std::vector<Use>& uses,
                                   const std::unordered_map<std::string_view, const check::Facts*>& facts, int threshold,
                                   const std::function<bool(size_t, size_t)>& relevant,
                                   const std::function<bool(size_t, size_t)>& crop_relevant,
                                   const std::vector<char>& active) {
  constexpr size_t kMaxCandidates = 64;
  std::vector<Similar> out;
  std::unordered_map<std::string_view, std::vector<size_t>> by_media;  // views of uses[].media
  const bool bucketed = threshold < 8;
  // Quarter q with value v -> the uses whose hash has it (index q * 65536 + v).
  using Buckets = std::vector<std::vector<uint32_t>>;
  Buckets buckets, crop_buckets;  // of whole-picture hashes, of crop hashes
  if (bucketed) buckets.resize(4 << 16), crop_buckets.resize(4 << 16);
  auto slot = [](uint64_t hash, int q) { return size_t(q) << 16 | ((hash >> (16 * q)) & 0xffff); };
  auto nearest_crop = [](const check::Facts& x, const check::Facts& y) {  // of y's crops to x's whole picture
    int d = 64;
    for (uint64_t h : y.crops) d = std::min(d, hamming(x.phash, h));
    return d;
  };
  std::vector<size_t> tried;  // candidates of this use whose pixels were compared
  for (size_t b = 0; b < uses.size(); ++b) {
    if (!active[b]) continue;  // can pair with nothing (an image file outside the splits)
    const check::Facts& fb = *facts.at(uses[b].media);
    std::optional<Similar> best;
    tried.clear();
    auto consider = [&](size_t a) {
      if (best && best->a <= a) return;
      if (!relevant(a, b)) return;
      if (uses[a].media == uses[b].media) {
        best = Similar{a, b, 0, {1.0, 100}};
        return;
      }
      const check::Facts& fa = *facts.at(uses[a].media);
      const int d = hamming(fa.phash, fb.phash);
      if (d > threshold && (!crop_relevant(a, b) ||
                            std::min(nearest_crop(fa, fb), nearest_crop(fb, fa)) > threshold))
        return;
      if (std::find(tried.begin(), tried.end(), a) != tried.end()) return;
      tried.push_back(a);
      if (auto l = check::same_picture(fa.grid, fa.width, fa.height, fb.grid, fb.width, fb.height))
        best = Similar{a, b, d, *l};
    };
    auto probe = [&](const Buckets& table, uint64_t hash) {
      for (int q = 0; q < 4; ++q)
        for (int flip = -1; flip < 16; ++flip) {
          const uint64_t h = flip < 0 ? hash : hash ^ (uint64_t{1} << (16 * q + flip));
          const auto& list = table[slot(h, q)];
          for (size_t i = 0; i < list.size() && i < kMaxCandidates; ++i) consider(list[i]);
        }
    };
    for (size_t a : by_media[uses[b].media]) consider(a);
    const bool hashed = fb.decodes && fb.phash != 0;
    if (hashed) {
      if (bucketed) {
        probe(buckets, fb.phash);
        probe(crop_buckets, fb.phash);                 // this is a crop of an earlier picture
        for (uint64_t h : fb.crops) probe(buckets, h);  // an earlier picture is a crop of this one
      } else {
        for (size_t a = 0; a < b; ++a)
          if (facts.at(uses[a].media)->decodes) consider(a);
      }
    }
    if (best) out.push_back(*best);
    by_media[uses[b].media].push_back(b);
    if (hashed && bucketed) {
      for (int q = 0; q < 4; ++q) buckets[slot(fb.phash, q)].push_back(uint32_t(b));
      for (uint64_t h : fb.crops)
        for (int q = 0; q < 4; ++q) {
          auto& list = crop_buckets[slot(h, q)];
          if (list.empty() || list.back() != b) list.push_back(uint32_t(b));
        }
    }
  }
  return out;
}

}  // namespace

CheckReport run_checks(Store& store, const std::vector<FileEntry>& files, const CheckOptions& options) {
  const Policy& policy = options.policy;
  Store& results_store = options.results ? *options.results : store;
  CheckReport report;
  const std::string row_key_prefix = "r" + std::to_string(check::kRulesVersion) + policy.hash();
  std::unordered_map<std::string_view, const FileEntry*> by_path;  // views of the entries' paths
  by_path.reserve(files.size());
  for (const auto& f : files) by_path[f.path] = &f;
  std::vector<std::unique_ptr<FileEntry>> resolved;  // files found through options.resolve

  auto add = [&](const std::string& rule, const std::string& path, uint64_t line, int m, int c,
                 const std::string& object, const std::string& message) {
    Finding f;
    f.path = path;
    f.line = line;
    f.message_index = m;
    f.content_index = c;
    f.object = object;
    f.message = message;
    if (check::make_finding(policy, rule, f)) report.findings.push_back(std::move(f));
  };

  std::vector<Use> uses;
  uses.reserve(files.size());
  std::unordered_map<std::string, Remote> fetched;  // by URL, with --fetch
  struct RowTokens {
    std::string path;
    uint64_t line;
    uint64_t text;
    std::vector<size_t> uses;  // indexes into `uses`
  };
  std::vector<RowTokens> token_rows;  // rows with images only
  auto too_long = [&](const std::string& path, uint64_t line, uint64_t total) {
    if (total > policy.max_tokens)
      add("jsonl.too_long", path, line, -1, -1, "",
          "about " + std::to_string(total) + " tokens (an estimate: text/4 plus the image tile formula); the limit is " +
              std::to_string(policy.max_tokens));
  };
  std::atomic<uint64_t> rows_parsed{0}, row_hits{0};

  // Hand exclusions by file; each one's place once matched, for stale ones.
  std::unordered_map<std::string, std::vector<const Exclusion*>> exclusions_of;
  for (const Exclusion& e : options.exclusions.entries) exclusions_of[e.path].push_back(&e);
  std::unordered_set<const Exclusion*> matched;
  std::set<std::pair<std::string, uint64_t>> excluded_at;  // (path, line) excluded by hand
  auto exclude_here = [&](const Exclusion& e, const std::string& path, uint64_t line) {
    matched.insert(&e);
    if (!excluded_at.emplace(path, line).second) return;
    add("curation.excluded", path, line, -1, -1, "",
        "excluded by hand: " + e.reason + " (" + kExclusionsFile + " line " + std::to_string(e.source_line) + ")");
  };
  auto bad_exclusion = [&](const Exclusion& e, const std::string& why) {
    matched.insert(&e);
    Finding f;
    f.path = kExclusionsFile;
    f.line = e.source_line;
    f.message = why;
    if (check::make_finding(policy, "curation.bad_exclusion", f)) report.findings.push_back(std::move(f));
  };
  std::unordered_set<std::string> context_paths;
  for (const auto& f : options.context) context_paths.insert(f.path);

  // LLaVA, LLaMA-Factory and Axolotl also read a .json file holding an
  // array of examples: for their profiles such a file is a table.
  const bool json_tables = policy.profile == "llava" || policy.profile == "sharegpt" || policy.profile == "axolotl";
  auto check_file = [&](const FileEntry& file, bool context) {
    if (file.path == kExclusionsFile) return;  // kura's own file, not data
    if (!context) ++report.summary.files;
    const auto excl = context ? exclusions_of.end() : exclusions_of.find(file.path);
    std::optional<std::vector<std::string>> elements;  // the examples of a .json table
    if (json_tables && file.pointer.kind == FileKind::kMedia && json_extension(file.path) && file.path != kPolicyFile) {
      std::optional<std::string> bytes;
      if (options.read_image) bytes = options.read_image(file.pointer.object);
      if (!bytes) bytes = store.read_object(file.pointer.object);
      std::string error;
      elements = json_array_elements(*bytes, error);
      if (!error.empty()) {
        add("jsonl.invalid_json", file.path, 0, -1, -1, "", error);
        return;
      }
      if (!elements) return;  // JSON, but not a list of examples
    }
    if (file.pointer.kind == FileKind::kMedia && !elements) {
      if (excl != exclusions_of.end())
        for (const Exclusion* e : excl->second) {
          if (e->line) bad_exclusion(*e, file.path + " is a file, not a JSONL table: exclude it without a line");
          else exclude_here(*e, file.path, 0);
        }
      if (image_extension(file.path)) uses.push_back({file.path, 0, -1, -1, file.pointer.object.hex(), "", ""});
      return;
    }
    if (file.pointer.kind != FileKind::kTable && !elements) return;
    std::vector<RowRef> refs;
    if (elements)  // rows named by the SHA-256 of their JSON, as a table's rows are
      for (const std::string& e : *elements) refs.push_back({sha256(e), LineEnd::kLf});
    else
      refs = read_manifest(store, file.pointer.object);
    std::unordered_map<std::string, std::vector<const Exclusion*>> by_row;
    std::unordered_map<uint64_t, std::vector<const Exclusion*>> by_line;
    if (excl != exclusions_of.end())
      for (const Exclusion* e : excl->second) {
        if (!e->row.empty()) by_row[e->row].push_back(e);
        else if (e->line) by_line[e->line].push_back(e);
        else bad_exclusion(*e, "a whole JSONL file cannot be excluded: name its lines (" + file.path +
                                   ":LINE), or stop tracking it with 'kura rm " + file.path + "'");
      }
    if (!by_row.empty() || !by_line.empty())
      for (size_t i = 0; i < refs.size(); ++i) {
        if (auto it = by_line.find(i + 1); it != by_line.end())
          for (const Exclusion* e : it->second) exclude_here(*e, file.path, i + 1);
        if (by_row.empty()) continue;
        if (auto it = by_row.find(refs[i].row.hex()); it != by_row.end())
          for (const Exclusion* e : it->second) exclude_here(*e, file.path, i + 1);
      }
    // Relative image paths resolve against the policy's image root, or the file's folder.
    const std::string dir = policy.image_root ? *policy.image_root : dir_of(file.path);
    const std::string root_note =
        policy.image_root ? ", under the image root '" + (policy.image_root->empty() ? "." : *policy.image_root) + "'" : "";
    std::unordered_map<ObjectId, uint64_t, ObjectIdHash> first_line;
    uint64_t examples = 0, image_examples = 0;
    // Rows go in blocks: a block's results are merged into the report and
    // dropped before the next block is checked, so memory follows the
    // (compact) findings, not the rows' full results.
    constexpr size_t kBlock = 1 << 16;
    std::vector<RowResult> results;
    for (size_t begin = 0; begin < refs.size(); begin += kBlock) {
      const size_t n = std::min(kBlock, refs.size() - begin);
      results.assign(n, RowResult{});
      // A block's cached results, its rows and its new results each go in
      // one batched look-up or write, not one per row (RocksDB point
      // look-ups and writes were most of a 200,000-row check).
      std::vector<std::string> keys(n);
      for (size_t j = 0; j < n; ++j) keys[j] = row_key_prefix + std::string(refs[begin + j].row.raw());
      const std::vector<std::optional<std::string>> cached = results_store.get_many(Table::kChecks, keys);
      std::vector<char> hit(n, 0);
      parallel_for(n, options.threads, [&](size_t j) {
        if (!cached[j]) return;
        try {
          results[j] = RowResult::from_json(nlohmann::json::from_msgpack(*cached[j]));
          hit[j] = 1;
          ++row_hits;
        } catch (const nlohmann::json::exception&) {
          // A damaged cache entry is a miss.
        }
      });
      std::vector<size_t> missed;
      for (size_t j = 0; j < n; ++j)
        if (!hit[j]) missed.push_back(j);
      std::vector<std::string> bytes;
      if (!elements && !missed.empty()) {
        std::vector<ObjectId> ids;
        ids.reserve(missed.size());
        for (size_t j : missed) ids.push_back(refs[begin + j].row);
        bytes = read_objects(store, ids, ObjectCheck::kSha256, options.threads);
      }
      std::vector<std::string> packed(missed.size());
      parallel_for(missed.size(), options.threads, [&](size_t m) {
        const size_t j = missed[m], i = begin + j;
        Row row = elements ? Row{(*elements)[i], {}} : decode_row(bytes[m], refs[i].row);
        results[j] = check::check_row(store, row, policy);
        ++rows_parsed;
        auto msgpack = nlohmann::json::to_msgpack(results[j].to_json());
        packed[m].assign(reinterpret_cast<const char*>(msgpack.data()), msgpack.size());
      });
      if (!missed.empty() && results_store.writable()) {  // read-only: checked, not cached
        TableBatch batch;
        for (size_t m = 0; m < missed.size(); ++m) batch.put(Table::kChecks, keys[missed[m]], packed[m]);
        results_store.write(batch, Sync::kNo);
      }

      if (options.fetch) fetch_remote(store, results, options, fetched);

      for (size_t j = 0; j < n; ++j) {
        const size_t i = begin + j;
        const uint64_t line = i + 1;
        RowResult& r = results[j];
        if (r.is_example) ++examples;
        for (Finding& f : r.findings) {
          f.path = file.path;
          f.line = line;
          report.findings.push_back(f);
        }
        if (r.is_example) {
          auto [it, fresh] = first_line.emplace(refs[i].row, line);
          if (!fresh) add("jsonl.duplicate_example", file.path, line, -1, -1, "", "the same example as line " + std::to_string(it->second));
        }
        if (!r.images.empty()) ++image_examples;
        RowTokens tokens{file.path, line, r.text_tokens, {}};
        for (const ImageUse& u : r.images) {
          Use use{file.path, line, u.message_index, u.content_index, u.media, u.declared, u.detail};
          use.field = u.field;
          const std::string at = field_prefix(u.field);
          if (u.kind == ImageUse::kRemote) {
            auto it = fetched.find(u.ref);
            if (it == fetched.end()) {
              add("image.remote_url", file.path, line, u.message_index, u.content_index, "",
                  at + "image at " + u.ref + " is not checked offline");
              continue;
            }
            if (!it->second.error.empty()) {
              add("image.fetch_failed", file.path, line, u.message_index, u.content_index, "",
                  at + "cannot download " + u.ref + ": " + it->second.error);
              continue;
            }
            use.media = it->second.media;
            use.declared = it->second.declared;
            use.remote = true;
          }
          if (u.kind == ImageUse::kPath) {
            auto target = check::resolve_path(dir, u.ref);
            if (!target) {
              add("image.path_outside", file.path, line, u.message_index, u.content_index, "",
                  at + "image path '" + u.ref + "' leaves the data set folder" + root_note + "; it was not read");
              continue;
            }
            auto it = by_path.find(*target);
            if (it == by_path.end() && options.resolve) {
              if (auto found = options.resolve(*target)) {
                resolved.push_back(std::make_unique<FileEntry>(std::move(*found)));
                it = by_path.emplace(resolved.back()->path, resolved.back().get()).first;
              }
            }
            if (it == by_path.end() || it->second->pointer.kind != FileKind::kMedia) {
              add("image.missing_file", file.path, line, u.message_index, u.content_index, "",
                  at + "image path '" + u.ref + "' names no file in the data set (looked for '" + *target + "'" +
                      root_note + ")");
              continue;
            }
            use.media = it->second->pointer.object.hex();
          }
          tokens.uses.push_back(uses.size());
          uses.push_back(std::move(use));
        }
        // A row without images is judged now; one with images once they are inspected.
        if (tokens.uses.empty()) too_long(file.path, line, tokens.text);
        else token_rows.push_back(std::move(tokens));
      }
    }
    if (context) return;
    report.summary.examples += examples;
    if (base_of(file.path) != policy.validation_file && examples < policy.min_examples && !refs.empty())
      add("jsonl.too_few_examples", file.path, 0, -1, -1, "",
          std::to_string(examples) + " examples; at least " + std::to_string(policy.min_examples) + " are needed");
    if (image_examples > policy.max_image_examples)
      add("jsonl.too_many_image_examples", file.path, 0, -1, -1, "",
          std::to_string(image_examples) + " examples with images; at most " + std::to_string(policy.max_image_examples));
  };
  for (const auto& file : files) check_file(file, false);
  for (const auto& file : options.context)
    if (!by_path.count(file.path)) check_file(file, true);
  for (const auto& f : options.exclusions.errors) report.findings.push_back(f);
  for (const Exclusion& e : options.exclusions.entries) {
    if (matched.count(&e) || context_paths.count(e.path)) continue;
    Finding f;
    f.path = kExclusionsFile;
    f.line = e.source_line;
    const std::string was = e.line ? e.path + " line " + std::to_string(e.line) : e.path;
    f.message = !by_path.count(e.path) ? "excludes " + was + ", but " + e.path + " is not in the data set"
                : e.row.empty()      ? "excludes " + was + ", but " + e.path + " has fewer lines"
                                     : "excludes the row that was " + was + " (" + e.row.substr(0, 12) +
                                      "), which is no longer in " + e.path;
    if (check::make_finding(policy, "curation.stale_exclusion", f)) report.findings.push_back(std::move(f));
  }
  report.rows_parsed = rows_parsed;
  report.row_cache_hits = row_hits;

  // Inspect every distinct image once (cached across runs by object id).
  std::vector<ObjectId> distinct;
  std::vector<std::string_view> distinct_hex;  // views of uses[].media, which no longer moves
  {
    std::unordered_set<std::string_view> seen;
    seen.reserve(uses.size());
    for (const auto& u : uses)
      if (seen.insert(u.media).second) {
        distinct.push_back(*ObjectId::from_hex(u.media));
        distinct_hex.push_back(u.media);
      }
  }
  report.summary.images = distinct.size();
  std::vector<check::Facts> facts(distinct.size());
  std::vector<std::optional<std::string>> cached;
  {
    std::vector<std::string> keys;
    keys.reserve(distinct.size());
    for (const auto& id : distinct) keys.push_back(check::facts_key(id, policy));
    cached = results_store.get_many(Table::kChecks, keys);
  }
  std::atomic<uint64_t> inspected{0}, hits{0}, done{0};
  parallel_for(
      distinct.size(), options.threads,
      [&](size_t i) {
        bool hit = false;
        const ObjectId& id = distinct[i];
        auto read = [&]() -> std::string {
          if (options.read_image)
            if (auto bytes = options.read_image(id)) return std::move(*bytes);
          return store.read_object(id);
        };
        facts[i] = check::facts_of(results_store, id, policy, cached[i], read, &hit);
        ++(hit ? hits : inspected);
        ++done;
      },
      [&] {
        if (options.progress) options.progress({"checking images", done.load(), distinct.size(), 0, 0});
      });
  report.images_inspected = inspected;
  report.image_cache_hits = hits;
  std::unordered_map<std::string_view, const check::Facts*> facts_of;
  facts_of.reserve(distinct.size());
  for (size_t i = 0; i < distinct.size(); ++i) facts_of.emplace(distinct_hex[i], &facts[i]);

  for (const auto& u : uses) {
    for (auto& [rule, message] : check::image_findings(*facts_of[u.media], u.declared, policy)) {
      if (u.remote && rule == "image.mime_mismatch")
        message.replace(0, std::string("the data URI says").size(), "the server's Content-Type says");
      add(rule, u.path, u.line, u.message_index, u.content_index, u.media, field_prefix(u.field) + message);
    }
  }
  for (const auto& row : token_rows) {
    uint64_t total = row.text;
    for (size_t i : row.uses) total += check::image_tokens(*facts_of[uses[i].media], uses[i].detail);
    too_long(row.path, row.line, total);
  }

  // The same picture twice: across train and validation (leakage), inside one file (near duplicates).
  // Which split each use is in (1 training, 2 validation, 0 neither),
  // worked out once: the pair search asks for every candidate pair.
  std::vector<uint8_t> split(uses.size());
  std::vector<char> active(uses.size());
  for (size_t i = 0; i < uses.size(); ++i) {
    const std::string base = base_of(uses[i].path);
    split[i] = base == policy.train_file ? 1 : base == policy.validation_file ? 2 : 0;
    active[i] = split[i] != 0 || uses[i].line != 0;  // a folder's image file pairs with nothing
  }
  auto relevant = [&](size_t x, size_t y) {
    const bool cross = split[x] + split[y] == 3;  // one training, one validation
    return cross || (uses[x].line != uses[y].line && uses[x].path == uses[y].path);
  };
  auto cross = [&](size_t x, size_t y) { return split[x] + split[y] == 3; };  // crops: leakage only
  for (const auto& [a, b, distance, alike] :
       similar_pairs(uses, facts_of, policy.near_duplicate_distance, relevant, cross, active)) {
    const Use& first = uses[a];
    const Use& second = uses[b];
    const std::string how = first.media == second.media ? "the same image" : same_picture_words(distance, alike);
    const std::string fa = base_of(first.path), fb = base_of(second.path);
    if (first.path != second.path) {
      const Use& val = fa == policy.validation_file ? first : second;
      const Use& train = fa == policy.validation_file ? second : first;
      if (!context_paths.count(val.path))
        add("dataset.leakage", val.path, val.line, val.message_index, val.content_index, val.media,
            how + " is in " + where(train.path, train.line) + " (training data)");
      else  // only the training file is checked: say it there
        add("dataset.leakage", train.path, train.line, train.message_index, train.content_index, train.media,
            how + " is in " + where(val.path, val.line) + " (validation data)");
    } else {
      add("image.near_duplicate", second.path, second.line, second.message_index, second.content_index, second.media,
          how + " as " + where(first.path, first.line));
    }
  }

  if (!options.user_hook.empty()) {
    std::vector<std::string> paths;
    for (const auto& f : files) paths.push_back(f.path);
    for (Finding f : check::run_user_hook(options.user_hook, options.root, paths)) report.findings.push_back(std::move(f));
  }

  // Drop what was found in the context files (they are not being checked),
  // and turn the findings on hand-excluded lines into excluded warnings.
  if (!context_paths.empty() || !excluded_at.empty()) {
    FindingList kept;
    for (size_t i = 0; i < report.findings.size(); ++i) {
      const FindingList::Record& r = report.findings.record(i);
      const std::string& path = report.findings.string(r.path);
      if (context_paths.count(path)) continue;
      Finding f = report.findings[i];
      if (excluded_at.count({path, f.line})) {
        f.excluded = true;
        if (f.severity == Severity::kError) f.severity = Severity::kWarning;
      }
      kept.push_back(f);
    }
    report.findings = std::move(kept);
  }
  report.findings.sort();
  for (size_t i = 0; i < report.findings.size(); ++i) {
    const FindingList::Record& f = report.findings.record(i);
    if (f.excluded) {
      auto& lines = report.excluded_lines[report.findings.string(f.path)];
      if (lines.empty() || lines.back() != f.line) lines.push_back(f.line);
    }
    if (f.severity == Severity::kError) ++report.summary.errors;
    else if (f.severity == Severity::kWarning) ++report.summary.warnings;
    else ++report.summary.infos;
  }
  for (auto& [path, lines] : report.excluded_lines) {
    std::sort(lines.begin(), lines.end());
    lines.erase(std::unique(lines.begin(), lines.end()), lines.end());
    report.summary.excluded += lines.size();
  }
  return report;
}

}  // namespace kura
