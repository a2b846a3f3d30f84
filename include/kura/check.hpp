// Checks: what is wrong with a dataset before it costs a training run.
//
// A check reads files as the store holds them (a commit's tree, the index, or
// the working folder stored on the fly) and reports findings. Each finding has
// a rule id (`image.too_large`, `jsonl.no_assistant_message`, ...), a
// severity, where it is (file, line, message index, content index, image
// object), a message a person understands and how to fix it. docs/checks.md
// lists every rule.
//
// A policy sets, per rule, error | warn | off | exclude: an excluded example
// stays in history, is marked excluded in the report, and training and export
// skip it. The policy is the tracked file kura-checks.json at the top of the
// data set (committed like any file, so a clone checks as its origin does),
// with the untracked .kura/checks.json over it as a local override. Profiles:
// "openai" (the OpenAI / Azure vision fine-tuning format and limits, the
// default); "llava", "sharegpt" (LLaMA-Factory) and "axolotl" (each
// trainer's own row format, then the same image rules; for these a .json
// file holding an array of examples is a table too); and "generic" (format
// and integrity only, including the images of rows it recognises in any of
// those formats). Examples are also excluded by hand, in the tracked file
// kura-exclusions.jsonl (`kura exclude`).
//
// Work is cached in the store by object id: image facts by (image, facts
// version), row results by (row, rules version, policy hash), so re-checking an
// unchanged dataset costs look-ups only. Images are inspected on all cores.
//
// Thread safety: run_checks may be called from one thread at a time per Store.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <chrono>
#include <deque>
#include <filesystem>
#include <functional>
#include <iterator>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "kura/objects.hpp"
#include "kura/progress.hpp"

namespace kura {

class Store;

enum class Severity { kError, kWarning, kInfo };
const char* severity_name(Severity severity);

struct Finding {
  std::string rule;          // "image.bad_color_mode"
  Severity severity = Severity::kError;
  std::string path;          // file in the dataset
  uint64_t line = 0;         // 1-based JSONL line; 0 when it does not apply
  int message_index = -1;    // index into "messages"; -1 when it does not apply
  int content_index = -1;    // index into a message's content parts; -1 likewise
  std::string object;        // SHA-256 hex of the image concerned, or empty
  std::string message;       // what is wrong, in a person's words
  std::string fix;           // what to do about it
  bool excluded = false;     // the policy excludes the example (or image file)
};

// The findings of a report, held compactly: each distinct string (rule,
// path, message, fix, image id) is kept once, and a finding is a record of
// small numbers, so a million findings cost tens of megabytes, not a
// gigabyte. Reading gives Finding values; iteration order is insertion order
// until sort(). Not thread-safe; copies are independent.
class FindingList {
 public:
  // One finding as indexes into the list's strings (see string()).
  struct Record {
    uint32_t rule = 0, path = 0, object = 0, message = 0, fix = 0;
    uint64_t line = 0;
    int32_t message_index = -1, content_index = -1;
    Severity severity = Severity::kError;
    bool excluded = false;
  };

  FindingList();
  FindingList(const FindingList& other);
  FindingList& operator=(const FindingList& other);
  FindingList(FindingList&&) noexcept = default;
  FindingList& operator=(FindingList&&) noexcept = default;

  void push_back(const Finding& f);
  size_t size() const { return records_.size(); }
  bool empty() const { return records_.empty(); }
  Finding operator[](size_t i) const;
  const Record& record(size_t i) const { return records_[i]; }
  // The distinct strings; index 0 is always "".
  const std::string& string(uint32_t k) const { return strings_[k]; }
  size_t string_count() const { return strings_.size(); }
  // Orders by path, line, message index, content index, rule.
  void sort();

  class const_iterator {
   public:
    using value_type = Finding;
    using difference_type = std::ptrdiff_t;
    using reference = Finding;
    using pointer = void;
    using iterator_category = std::input_iterator_tag;
    const_iterator(const FindingList* list, size_t i) : list_(list), i_(i) {}
    Finding operator*() const { return (*list_)[i_]; }
    const_iterator& operator++() { ++i_; return *this; }
    bool operator==(const const_iterator& o) const { return i_ == o.i_; }
    bool operator!=(const const_iterator& o) const { return i_ != o.i_; }

   private:
    const FindingList* list_;
    size_t i_;
  };
  const_iterator begin() const { return {this, 0}; }
  const_iterator end() const { return {this, records_.size()}; }

 private:
  uint32_t intern(std::string_view s);
  std::deque<std::string> strings_;  // a deque: views of its strings stay valid as it grows
  std::unordered_map<std::string_view, uint32_t> index_;
  std::vector<Record> records_;
};

struct CheckSummary {
  uint64_t files = 0, examples = 0, images = 0;
  uint64_t errors = 0, warnings = 0, infos = 0, excluded = 0;
};

struct ReportFilter;

struct CheckReport {
  CheckSummary summary;
  FindingList findings;  // ordered by path, line, message, content
  // Examples the policy excludes, per table path: 1-based line numbers.
  std::map<std::string, std::vector<uint64_t>> excluded_lines;
  // Work counters (not part of the stored report).
  uint64_t images_inspected = 0, image_cache_hits = 0, rows_parsed = 0, row_cache_hits = 0;

  bool ok() const { return summary.errors == 0; }
  // Whether the policy excludes line `line` of table `path` (line 0: the
  // image file `path` itself). Training and export skip what this says.
  bool excludes(const std::string& path, uint64_t line) const;
  // The first error finding, as "path:line rule: message"; "" when ok().
  std::string first_error() const;
  // Throws Error(kCheckFailed) when the report has errors: "commit <short>
  // has N check errors (first: ...); fix them and commit, or <what> anyway
  // with --allow-check-errors". Shared by train and export.
  void refuse_errors(const std::string& commit, const std::string& what) const;
  // The stable JSON form documented in docs/checks.md, as a document (for
  // small reports and tests) or written finding by finding to `out`, which
  // holds no more than one finding's JSON at a time (any report size).
  // Both carry, before the findings, a summary per rule (summarize_rules()).
  // With a filter, `findings` holds only what the filter shows, `filter`
  // says which it was and `shown` counts it; `ok`, `summary`, `rules[].findings`
  // and `excluded_lines` still describe the whole report.
  nlohmann::json to_json() const;
  void write_json(std::ostream& out) const;
  void write_json(std::ostream& out, const ReportFilter& filter) const;
  static CheckReport from_json(const nlohmann::json& j);

  // The form stored with each commit (docs/checks.md, "The stored report"):
  // a header line, then the distinct strings and the findings as one short
  // JSON array a line. decode() also reads the single-document JSON form
  // that kura 0.1 stored. Error(kCorrupt) naming the line on bad input.
  std::string encode() const;
  static CheckReport decode(std::string_view stored);
};

// Which findings of a report to show (`kura check --rule/--severity/--file`).
// A filter chooses what is printed, never what the report says: ok(), the
// summary and the exit status of a command stay those of the whole report.
struct ReportFilter {
  // Rule ids ("image.too_large"), families ("image" or "image.": every rule
  // whose id starts with "image.") or globs ("image.*", "*.too_*", fnmatch
  // syntax). A finding is shown when any one matches; empty: every rule.
  std::vector<std::string> rules;
  // Findings of this severity and worse (error > warning > info), as git's
  // and compilers' levels go; nullopt: every severity.
  std::optional<Severity> min_severity;
  // Data-set paths as the report names them: a file, or a folder ("images"
  // or "images/") whose files are shown. Findings on the data set as a
  // whole (path "") are shown only when this is empty.
  std::vector<std::string> files;

  bool empty() const { return rules.empty() && !min_severity && files.empty(); }
  bool shows(const std::string& rule, Severity severity, const std::string& path) const;
  // shows() for every finding of `list`, in order; each distinct rule and
  // path is matched once, so a million findings cost no million globs.
  std::vector<bool> shown(const FindingList& list) const;
  // Error(kInvalidInput) when a rule pattern matches no rule of all_rules()
  // and none found in `report` (a user hook's own rules): "no rule
  // 'image.to_large' (did you mean image.too_large?)".
  void validate(const CheckReport& report) const;
  // {"rules": [...], "severity": "warning", "files": [...]}, absent keys
  // for what is not filtered; null when empty().
  nlohmann::json to_json() const;
};
// "error", "warning", "info" -> the severity; nullopt for anything else.
std::optional<Severity> parse_severity(std::string_view name);

// The findings of one rule in a report: the block `kura check` prints for
// it before the details, and `rules[]` of the JSON form.
struct RuleSummary {
  std::string rule;
  Severity severity = Severity::kInfo;  // the most severe of its findings
  // Findings of the rule in the whole report, by severity; `excluded`:
  // those on an excluded example (they count as warnings).
  uint64_t findings = 0, errors = 0, warnings = 0, infos = 0, excluded = 0;
  uint64_t shown = 0;            // those the filter shows
  std::string fix;               // the fix of its first shown finding (else its first)
  std::vector<size_t> examples;  // indexes into report.findings of its first shown findings
};
// One entry per rule that has findings, most severe first, then most
// findings, then by id; up to `examples` example indexes each. O(findings).
std::vector<RuleSummary> summarize_rules(const CheckReport& report, const ReportFilter& filter = {},
                                         size_t examples = 3);

enum class RuleAction { kDefault, kError, kWarn, kOff, kExclude };

struct Policy {
  std::string profile = "openai";
  std::map<std::string, RuleAction> rules;  // overrides of the profile's defaults

  uint64_t max_image_bytes = 10'000'000;    // image.too_large
  uint64_t max_pixels = 100'000'000;        // refuse to decode above (decompression bombs)
  int min_image_side = 0;                   // image.too_small; 0: off
  int max_images_per_example = 64;          // jsonl.too_many_images
  uint64_t max_image_examples = 50'000;     // jsonl.too_many_image_examples
  uint64_t min_examples = 10;               // jsonl.too_few_examples
  uint64_t max_tokens = 65'536;             // jsonl.too_long (estimated)
  bool detect_faces = true;                 // moderation.face
  int min_face_px = 40;
  int near_duplicate_distance = 6;          // pHash Hamming distance for "the same picture"
  std::string train_file = "train.jsonl", validation_file = "validation.jsonl";
  // The folder (relative to the top of the data set, '/'-separated, "" for
  // the top itself) that relative image paths in rows resolve against;
  // nullopt: the folder of the file the row is in. Part of hash().
  std::optional<std::string> image_root;

  // The files this policy was read from, in the order applied (for the
  // note that a local override is in force). Not part of hash() or to_json().
  std::vector<std::string> sources;

  // Reads `file` (JSON, see docs/checks.md); defaults when it does not
  // exist. Error(kInvalidInput) naming the file and key on bad content.
  static Policy load(const std::filesystem::path& file);
  // Reads the JSON `text` over `base`: each key it sets replaces base's, and
  // each entry of its `rules` replaces base's entry for that rule. `name`
  // (the file, as the user knows it) is added to sources and named in errors.
  static Policy parse(std::string_view text, const std::string& name, Policy base);
  nlohmann::json to_json() const;
  // Identifies the policy in cache keys.
  std::string hash() const;
  // The severity of `rule` under this policy: its default, overridden.
  RuleAction action(const std::string& rule) const;
};

// `dir` (an image_root) as a normalised data-set path ("" for the top), or
// nullopt when it is absolute or leads out of the data set.
std::optional<std::string> normal_image_root(const std::string& dir);

// The tracked files that steer the checks, at the top of the data set.
inline constexpr const char* kPolicyFile = "kura-checks.json";
inline constexpr const char* kExclusionsFile = "kura-exclusions.jsonl";

// One example (a JSONL line) or image file excluded by hand: one line of
// kura-exclusions.jsonl, {"path", "line", "row", "reason"} (docs/checks.md,
// "Exclusions"). An entry with `row` follows its row when lines move: it
// excludes every line of `path` that holds that row; without `row` it
// excludes line `line`; with neither, the file `path` itself (an image).
struct Exclusion {
  std::string path;          // data-set file, '/'-separated, relative to the top
  uint64_t line = 0;         // 1-based line when excluded; 0: the whole file
  std::string row;           // hex id of the line's row object, or empty
  std::string reason;        // why, in the curator's words
  uint64_t source_line = 0;  // its line in kura-exclusions.jsonl (0: not from the file)
};

// The parsed kura-exclusions.jsonl: its entries, and a finding
// (curation.bad_exclusion, naming line and field) for each line that is not a
// valid entry. Never throws on bad content.
struct Exclusions {
  std::vector<Exclusion> entries;
  std::vector<Finding> errors;
  static Exclusions parse(std::string_view text);
  // The file's text for `entries`: one compact JSON object a line, ordered by
  // path, then line, so diffs and merges of the file stay row-sized.
  static std::string format(std::vector<Exclusion> entries);
};

struct CheckOptions {
  Policy policy;
  // Hand exclusions (kura-exclusions.jsonl) applied to the files checked:
  // each excluded line gets a curation.excluded finding, and every other
  // finding on it becomes a warning marked excluded (the example is not
  // trained on, so its errors stop nothing). An entry naming a file that is
  // among the checked files but no longer holds the row or line gets
  // curation.stale_exclusion.
  Exclusions exclusions;
  // Other files of the data set that the checked files are compared with for
  // the data-set rules (leakage against the committed other split when only
  // one file is checked). Their own findings are not reported.
  std::vector<FileEntry> context;
  unsigned threads = 0;                          // 0: one per core
  ProgressFn progress;                           // may be empty
  // An executable run with the changed paths as arguments; it prints
  // findings as JSON lines (docs/checks.md). Empty: none.
  std::filesystem::path user_hook;
  std::filesystem::path root;                    // working folder, for the hook
  // Finds a file that a JSONL row names by path but that is not among the
  // checked files (a check of some files only); empty: such paths are missing.
  std::function<std::optional<FileEntry>(const std::string& path)> resolve;
  // Download images named by http(s) URL and check them like the others
  // (`kura check --fetch`); otherwise they get an image.remote_url note.
  bool fetch = false;
  std::chrono::seconds fetch_timeout{30};  // per download
  unsigned fetch_connections = 8;          // downloads at a time
  // Where results are cached (Table::kChecks); null: in the store checked.
  Store* results = nullptr;
  // The bytes of an image that is not in the store checked (check_folder
  // reads the folder's files where they are); nullopt, or no function: read
  // from the store.
  std::function<std::optional<std::string>(const ObjectId&)> read_image;
};

// Checks `files` (entries whose objects are in `store`). Bad data never
// throws: it becomes findings. Throws Error only when the check itself
// cannot run (store failure, hook that cannot be started).
CheckReport run_checks(Store& store, const std::vector<FileEntry>& files, const CheckOptions& options);

// Estimated training tokens, by the estimator of jsonl.too_long: a row's
// text (characters / 4, plus 4 a message, plus 3) and each image by OpenAI's
// published tile formula (85 for "low" detail; else fit 2048x2048, shortest
// side to 768, 170 per 512-pixel tile plus 85). Reads the row results and
// image facts the checks cached in `store` under `policy`, so a checked
// commit costs look-ups only; what is missing is computed (and cached).
// Thread-safe given a thread-safe Store.
class TokenEstimator {
 public:
  TokenEstimator(Store& store, const Policy& policy);
  // Text tokens of row object `row_id` (decoded as `row`); 0 when the row is
  // not an example.
  uint64_t text_tokens(const ObjectId& row_id, const Row& row) const;
  // Tokens of image `image` shown with `detail` ("low", "high", "auto" or "").
  uint64_t image_tokens(const ObjectId& image, const std::string& detail) const;

 private:
  Store& store_;
  Policy policy_;
  std::string row_key_prefix_;
};

// What the checks learnt of an image when they inspected it (cached in the
// store by object id, at commit): enough to describe it without decoding it.
struct ImageInfo {
  uint64_t bytes = 0;
  std::string format;  // "jpeg", "png", ..., "unknown" (not an image)
  int width = 0, height = 0;
  std::string mode;    // colour_mode() below
  bool decodes = false;
  int faces = -1;      // -1: not looked for
  std::string error;   // why it does not decode
};
// The cached facts of image `id` under `policy` (or, failing that, under the
// same policy without face detection, as kura diff caches them); nullopt
// when neither was ever computed. Reads one or two cache entries, never the
// image. Thread-safe given a thread-safe Store.
std::optional<ImageInfo> cached_image_info(const Store& store, const ObjectId& id, const Policy& policy);
// "rgb", "rgba", "grey", "grey+alpha", "cmyk", "palette", "16-bit rgb", ...
std::string colour_mode(int bands, int bits, const std::string& interpretation, bool palette);

// The default severity of every rule, with its one-line description.
struct RuleInfo {
  const char* id;
  Severity severity;
  const char* what;
};
const std::vector<RuleInfo>& all_rules();

}  // namespace kura
