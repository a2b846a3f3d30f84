// kura._kura: the native half of the Python package (python/kura/), on the
// C++ library: no subprocess, no second reader of the store. Every read goes
// through a read-only Repo handle, which takes no lock, so a training script
// reads beside the command line. The GIL is released while the store is read
// and while images are inspected. Errors are kura.Error with the command
// line's one-line message and a `code` (docs/python.md).
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <nlohmann/json.hpp>

#include <map>
#include <memory>
#include <optional>
#include <unordered_map>
#include <string>
#include <vector>

#include "export/example.hpp"
#include "kura/check.hpp"
#include "kura/diff.hpp"
#include "kura/error.hpp"
#include "kura/image_facts.hpp"
#include "kura/objects.hpp"
#include "kura/remote.hpp"
#include "kura/repo.hpp"
#include "kura/repo_json.hpp"
#include "kura/store.hpp"
#include "kura/train.hpp"
#include "table_cursor.hpp"

namespace py = pybind11;

namespace kura::python {

namespace {

const char* code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidInput: return "invalid_input";
    case ErrorCode::kNotFound: return "not_found";
    case ErrorCode::kNotARepository: return "not_a_repository";
    case ErrorCode::kConflict: return "conflict";
    case ErrorCode::kNothingToDo: return "nothing_to_do";
    case ErrorCode::kCheckFailed: return "check_failed";
    case ErrorCode::kLocked: return "locked";
    case ErrorCode::kCorrupt: return "corrupt";
    case ErrorCode::kIo: return "io";
  }
  return "unknown";
}

ObjectId object_id(const std::string& hex) {
  auto id = ObjectId::from_hex(hex);
  if (!id) fail(ErrorCode::kInvalidInput, "'" + hex + "' is not an object id (64 hex digits)");
  return *id;
}

py::bytes to_bytes(const std::string& s) { return py::bytes(s.data(), s.size()); }

// A dict the Python side handed over as JSON text (json.dumps).
nlohmann::json parse_argument(const std::string& text, const char* name) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    fail(ErrorCode::kInvalidInput, std::string(name) + " is not JSON: " + e.what());
  }
}

// JSON crosses as text: Python's json module parses it (in C) on its side.
py::object from_json(const nlohmann::json& j) {
  // Never destroyed: it must not outlive the interpreter's finalisation.
  static py::object* loads = new py::object(py::module_::import("json").attr("loads"));
  return (*loads)(j.dump());
}

// A read-only handle that takes no lock (called without the GIL).
std::shared_ptr<Repo> open_read_only(const std::string& path) {
  OpenOptions o;
  o.access = Access::kReadOnly;
  o.lock = false;
  o.command = "kura (python)";
  o.notice = [](const std::string&) {};
  return std::shared_ptr<Repo>(Repo::open(path, o));
}

// Read-only access to a repository that takes no lock, so commits go on
// beside it. A Repo opened that way reads the store as it was when opened,
// so each call that names a revision opens a fresh one (a few
// milliseconds); object reads by id use the last one and open a fresh one
// only when the object is newer than it. An Examples iterator keeps the one
// it started with.
class Handle {
 public:
  explicit Handle(const std::string& path) : path_(path) { fresh(); }
  std::string root() const { return repo_->root().string(); }
  std::shared_ptr<Repo> current() const { return repo_; }

  const std::string& path() const { return path_; }

  std::shared_ptr<Repo> fresh() {
    py::gil_scoped_release release;
    repo_ = open_read_only(path_);
    return repo_;
  }

  std::string resolve(const std::string& rev) {
    auto repo = fresh();
    py::gil_scoped_release release;
    return repo->resolve(rev).id;
  }

  static FileEntry file(Repo& repo, const std::string& path, const std::string& rev) {
    std::optional<FileEntry> f;
    {
      py::gil_scoped_release release;
      f = repo.file_at(rev, path);
    }
    if (!f) fail(ErrorCode::kNotFound, "'" + path + "' is not in " + rev);
    return *f;
  }

  py::bytes read(const std::string& path, const std::string& rev) {
    auto repo = fresh();
    const FileEntry f = file(*repo, path, rev);
    std::string out;
    {
      py::gil_scoped_release release;
      repo->read_file(f, [&](std::string_view piece) { out.append(piece); });
    }
    return to_bytes(out);
  }

  // The bytes of the objects `hexes` names, in that order, SHA-256-checked,
  // in one batched store read on this thread (a DataLoader batch: a thread
  // started per read cost more than the read of a small image).
  std::vector<std::string> objects_bytes(const std::vector<std::string>& hexes) {
    std::vector<ObjectId> ids;  // distinct, in first-use order
    std::vector<size_t> slot(hexes.size());
    std::unordered_map<ObjectId, size_t, ObjectIdHash> seen;
    for (size_t i = 0; i < hexes.size(); ++i) {
      const ObjectId id = object_id(hexes[i]);
      auto [it, added] = seen.emplace(id, ids.size());
      if (added) ids.push_back(id);
      slot[i] = it->second;
    }
    std::vector<std::optional<std::string>> got;
    for (int attempt = 0;; ++attempt) {
      auto repo = repo_;
      {
        py::gil_scoped_release release;
        got = repo->store().get_objects(ids, ObjectCheck::kSha256);
      }
      size_t absent = 0;
      while (absent < got.size() && got[absent]) ++absent;
      if (absent == got.size()) break;
      if (attempt > 0)
        fail(ErrorCode::kNotFound, "object " + ids[absent].hex() + " not found in the store; run 'kura fsck'");
      fresh();  // stored after this handle was opened
    }
    const bool distinct = ids.size() == hexes.size();  // the usual case: move, not copy
    std::vector<std::string> out(hexes.size());
    for (size_t i = 0; i < hexes.size(); ++i) out[i] = distinct ? std::move(*got[slot[i]]) : *got[slot[i]];
    return out;
  }

  std::string object_bytes(const std::string& hex) { return std::move(objects_bytes({hex}).at(0)); }

  py::bytes object(const std::string& hex) { return to_bytes(object_bytes(hex)); }

  py::list objects(const std::vector<std::string>& hexes) {
    py::list out;
    for (const std::string& b : objects_bytes(hexes)) out.append(to_bytes(b));
    return out;
  }

  py::object files(const std::string& rev) {
    auto repo = fresh();
    nlohmann::json a = nlohmann::json::array();
    {
      py::gil_scoped_release release;
      for (const auto& f : repo->ls_files(rev)) a.push_back(file_json(f));
    }
    return from_json(a);
  }

  py::object log(const std::string& rev, size_t max_count) {
    auto repo = fresh();
    nlohmann::json a = nlohmann::json::array();
    {
      py::gil_scoped_release release;
      const RefNames names = ref_names(*repo);
      for (const auto& c : repo->log(rev, max_count)) a.push_back(commit_json(c, names));
    }
    return from_json(a);
  }

  py::object changes(const std::string& a, const std::string& b) {
    auto repo = fresh();
    nlohmann::json out = nlohmann::json::array();
    {
      py::gil_scoped_release release;
      for (const auto& e : repo->changes(a, b)) out.push_back({{"path", e.path}, {"change", change_name(e.change)}});
    }
    return from_json(out);
  }

  // `kura diff A B --json`: files, and rows of JSONL tables paired by `key`
  // (a JSON pointer) or by content.
  py::object diff(const std::string& a, const std::string& b, const std::vector<std::string>& paths,
                  const std::string& key, bool labels) {
    auto repo = fresh();
    DiffOptions o;
    o.from = a;
    o.to = b;
    o.paths = paths;
    o.key = key;
    o.labels = labels;
    nlohmann::json out;
    {
      py::gil_scoped_release release;
      static const bool ready = (init_image_library(), true);  // the images' facts
      (void)ready;
      out = kura::diff(*repo, o).to_json();
    }
    return from_json(out);
  }

  // The runs, newest first, as `kura runs --json` lists them: each with its
  // eval records (`kura eval`) under "evals", oldest first, when it has any.
  py::object runs() {
    auto repo = fresh();
    nlohmann::json out = nlohmann::json::array();
    {
      py::gil_scoped_release release;
      for (const RunRecord& r : list_runs(*repo)) {
        nlohmann::json j = run_json(r);
        for (const nlohmann::json& e : list_evals(*repo, r.id)) j["evals"].push_back(eval_summary(e));
        out.push_back(std::move(j));
      }
    }
    return from_json(out);
  }

  // kura.torch.record_run: the one write of the package. It opens the
  // repository for writing (waiting for its lock, as a command would) only
  // for the moment it stores the run.
  py::object record_run(ExternalRun run) {
    RunRecord r;
    {
      py::gil_scoped_release release;
      OpenOptions o;
      o.command = "kura (python record_run)";
      o.notice = [](const std::string&) {};
      auto repo = Repo::open(path_, o);
      r = record_external_run(*repo, run);
    }
    return from_json(run_json(r));
  }

  // The commit's check report: the one stored with it, else (a commit made
  // with --no-verify) checked now with the repository's policy, as kura
  // train does. Checking stores what it decodes (inline images) and caches
  // its results, so that one check opens the repository for writing, waiting
  // for its lock like a command, for as long as it runs. (A commit's report
  // never changes: kept by commit id.)
  const CheckReport& report(Repo& repo, const std::string& commit) {
    auto it = reports_.find(commit);
    if (it == reports_.end()) {
      py::gil_scoped_release release;
      std::optional<CheckReport> stored = repo.commit_report(commit);
      if (!stored) {
        OpenOptions o;
        o.command = "kura (python check)";
        o.notice = [](const std::string&) {};
        stored = Repo::open(path_, o)->report_for(commit, 0);
      }
      it = reports_.emplace(commit, std::move(*stored)).first;
    }
    return it->second;
  }

  py::object check(const std::string& rev) {
    const std::string commit = resolve(rev);
    return from_json(report(*repo_, commit).to_json());
  }

 private:
  std::string path_;
  std::shared_ptr<Repo> repo_;
  std::map<std::string, CheckReport> reports_;
};

// A media object's facts, read from its bytes (header and full decode).
py::dict image_info(Handle& h, const std::string& hex) {
  const std::string bytes = h.object_bytes(hex);
  ImageFacts facts;
  {
    py::gil_scoped_release release;
    static const bool ready = (init_image_library(), true);
    (void)ready;
    facts = inspect_image(bytes, ImageOptions{});
  }
  py::dict d;
  d["width"] = facts.width;
  d["height"] = facts.height;
  d["format"] = facts.format_name;
  d["mode"] = facts.interpretation;
  d["bands"] = facts.bands;
  d["has_alpha"] = facts.has_alpha;
  d["orientation"] = facts.exif_orientation;
  d["decodes"] = facts.decodes;
  return d;
}

// The examples of one table of one commit, a chunk of rows at a time (flat
// memory in the table's size), minus what the checks exclude. With
// `read_images`, a chunk's images are read with its rows.
class Examples {
 public:
  Examples(std::shared_ptr<Handle> handle, const std::string& path, const std::string& rev, bool include_excluded,
           bool allow_check_errors, bool read_images)
      : h_(std::move(handle)), path_(path), include_excluded_(include_excluded) {
    commit_ = h_->resolve(rev);
    repo_ = h_->current();
    const FileEntry table = Handle::file(*repo_, path, commit_);
    if (table.pointer.kind != FileKind::kTable)
      fail(ErrorCode::kInvalidInput, "'" + path + "' in commit " + commit_.substr(0, 12) +
                                         " is not a JSONL table (kura stores it as a plain file)");
    report_ = &h_->report(*repo_, commit_);
    if (!report_->ok() && !allow_check_errors)
      fail(ErrorCode::kCheckFailed, "commit " + commit_.substr(0, 12) + " has " + std::to_string(report_->summary.errors) +
                                        " check errors (first: " + report_->first_error() +
                                        "); fix them and commit, or read it anyway with allow_check_errors=True");
    py::gil_scoped_release release;
    cursor_ = std::make_unique<TableCursor>(repo_, path_, commit_, report_, include_excluded_,
                                            read_images ? ReadImages::kYes : ReadImages::kNo,
                                            read_manifest_chunks(repo_->store(), table.pointer.object));
  }

  const std::string& commit() const { return commit_; }
  uint64_t excluded() const { return cursor_->excluded() + excluded_; }
  uint64_t skipped_blank() const { return cursor_->blank() + blank_; }

  // (line, row JSON text, [(image id, file or "", url, pointer, message,
  // bytes or None)]) or StopIteration.
  py::tuple next() {
    const exporter::Example* ex = nullptr;
    {
      py::gil_scoped_release release;
      ex = cursor_->next();
    }
    if (!ex) throw py::stop_iteration();
    py::list images;
    for (const exporter::Image& img : ex->images) {
      const std::string* bytes = cursor_->image_bytes(img.media);
      images.append(py::make_tuple(img.media.is_zero() ? "" : img.media.hex(), img.file, img.remote_url, img.pointer,
                                   img.message, bytes ? py::object(to_bytes(*bytes)) : py::object(py::none())));
    }
    // The row as stored (its cut-out images with empty data), not re-serialised.
    return py::make_tuple(cursor_->line(), ex->row->body, images);
  }

  // The rest of the table as kura.torch.ChatImageDataset keeps it
  // (TableItems), read in one call without a Python object per example; a
  // table of 4 chunks or more (about 1,000 rows) is read in two halves at
  // once, the second on a handle of its own.
  py::dict image_items(size_t image) {
    TableItems items;
    {
      py::gil_scoped_release release;
      const std::string path = h_->path();
      items = read_items(*cursor_, image, 4, [&](std::vector<ManifestChunk> chunks, uint64_t first_line) {
        return std::make_unique<TableCursor>(open_read_only(path), path_, commit_, report_, include_excluded_,
                                             ReadImages::kNo, std::move(chunks), first_line);
      });
    }
    excluded_ += items.excluded - cursor_->excluded();
    blank_ += items.blank - cursor_->blank();
    py::dict d;
    d["lines"] = items.lines;
    d["ids"] = items.ids;
    d["labels"] = items.labels;
    d["without_image"] = items.without_image;
    return d;
  }

 private:
  std::shared_ptr<Handle> h_;
  std::shared_ptr<Repo> repo_;  // the store as it was when iteration began
  std::string path_, commit_;
  bool include_excluded_;
  const CheckReport* report_ = nullptr;
  std::unique_ptr<TableCursor> cursor_;
  uint64_t excluded_ = 0, blank_ = 0;  // counted by a second cursor (image_items)
};

}  // namespace

}  // namespace kura::python

PYBIND11_MODULE(_kura, m) {
  using namespace kura;
  using namespace kura::python;
  m.doc() = "kura's native reader (use the kura package, not this module)";
  static py::object* error_type = new py::object(py::module_::import("kura.errors").attr("Error"));
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const Error& e) {
      py::object instance = (*error_type)(e.what(), code_name(e.code()));
      PyErr_SetObject(error_type->ptr(), instance.ptr());
    }
  });
  // Partial clones (depth=1) read what they lack from their remote, as the
  // command line does.
  enable_on_demand_fetch();
  m.def("clone", [](const std::string& url, const std::string& dir, unsigned depth, const std::string& branch) {
    CloneOptions o;
    o.depth = depth;
    o.branch = branch;
    CloneResult r;
    {
      py::gil_scoped_release release;
      r = clone(url, dir, o);
    }
    py::dict d;
    d["dir"] = r.dir.string();
    d["branch"] = r.branch;
    d["commit"] = r.commit;
    return d;
  });
  py::class_<Handle, std::shared_ptr<Handle>>(m, "Handle")
      .def(py::init<const std::string&>())
      .def_property_readonly("root", &Handle::root)
      .def("resolve", &Handle::resolve)
      .def("read", &Handle::read)
      .def("object", &Handle::object)
      .def("objects", &Handle::objects)
      .def("files", &Handle::files)
      .def("log", &Handle::log)
      .def("changes", &Handle::changes)
      .def("check", &Handle::check)
      .def("diff", &Handle::diff)
      .def("runs", &Handle::runs)
      .def("record_run",
           [](Handle& h, const std::string& commit, const std::string& model, const std::string& settings,
              const std::vector<std::string>& files, const py::bytes& weights, const std::string& metrics,
              const std::string& log, const std::string& status, int64_t started, int64_t finished) {
             ExternalRun run;
             run.commit = commit;
             run.model = model;
             run.settings = parse_argument(settings, "settings");
             run.files = files;
             run.weights = static_cast<std::string>(weights);
             run.metrics = parse_argument(metrics, "metrics");
             run.log = log;
             run.status = status;
             run.started = started;
             run.finished = finished;
             return h.record_run(std::move(run));
           })
      .def("image_info", [](std::shared_ptr<Handle> h, const std::string& id) { return image_info(*h, id); });
  py::class_<Examples>(m, "Examples")
      .def(py::init<std::shared_ptr<Handle>, const std::string&, const std::string&, bool, bool, bool>(),
           py::arg("handle"), py::arg("path"), py::arg("rev"), py::arg("include_excluded"),
           py::arg("allow_check_errors"), py::arg("read_images") = true)
      .def_property_readonly("commit", &Examples::commit)
      .def_property_readonly("excluded", &Examples::excluded)
      .def_property_readonly("blank", &Examples::skipped_blank)
      .def("__iter__", [](Examples& e) -> Examples& { return e; }, py::return_value_policy::reference_internal)
      .def("__next__", &Examples::next)
      .def("image_items", &Examples::image_items);
}
