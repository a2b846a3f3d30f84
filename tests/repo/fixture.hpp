// A repository in a temporary folder, opened through the library.
#pragma once

#include "kura/repo.hpp"
#include "support.hpp"

namespace kura::test {

struct RepoFixture {
  TempDir dir;
  std::unique_ptr<Repo> repo;

  RepoFixture() {
    ::setenv("KURA_AUTHOR_NAME", "Test Author", 1);
    ::setenv("KURA_AUTHOR_EMAIL", "test@example.com", 1);
    Repo::init(dir.path());
    reopen();
  }
  void reopen() {
    repo.reset();
    repo = Repo::open(dir.path());
  }
  void close() { repo.reset(); }
  fs::path operator/(const std::string& rel) const { return dir / rel; }
  void write(const std::string& rel, const std::string& bytes) { write_file(dir / rel, bytes); }
  std::string read(const std::string& rel) const { return read_file(dir / rel); }
  AddResult add_all() {
    let_clock_tick();
    return repo->add({dir.path().string()});
  }
  CommitInfo commit(const std::string& message) {
    CommitOptions o;
    o.message = message;
    o.verify = false;  // storage tests; tests/check covers commit-time checks
    return repo->commit(o);
  }
  size_t object_count() {
    size_t n = 0;
    repo->store().for_each_object_id([&](const ObjectId&, int64_t) { return ++n, true; });
    return n;
  }
  std::string show(const std::string& rev, const std::string& path) {
    auto f = repo->file_at(rev, path);
    if (!f) throw std::runtime_error(path + " not in " + rev);
    std::string out;
    repo->read_file(*f, [&](std::string_view p) { out.append(p); });
    return out;
  }
};

inline std::string vision_example(const std::string& jpeg, const std::string& label) {
  return R"({"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/jpeg;base64,)" +
         base64(jpeg) + R"("}}]},{"role":"assistant","content":")" + label + R"("}]})";
}

// A keyed vision row: {"id": ID, "messages": [user: the image inline, assistant: LABEL]}.
inline std::string keyed_example(const std::string& id, const std::string& label, const std::string& image = "fish.jpg") {
  return R"({"id":")" + id + R"(","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/jpeg;base64,)" +
         base64(data_file(image)) + R"("}}]},{"role":"assistant","content":")" + label + R"("}]})";
}

// The rows joined, each followed by `end`.
inline std::string join_rows(const std::vector<std::string>& rows, const char* end = "\n") {
  std::string out;
  for (const auto& r : rows) out += r + end;
  return out;
}

}  // namespace kura::test
