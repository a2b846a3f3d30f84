// kura eval on a fixture whose answers are known: the run's own validation
// confusion matrix on its commit, and the same matrix re-arranged on a second
// commit whose validation labels were changed on purpose.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <sstream>

#include "kura/repo.hpp"
#include "support.hpp"
#include "train/digits.hpp"

using namespace kura::test;
using nlohmann::json;

namespace {

uint64_t total(const json& m) {
  uint64_t n = 0;
  for (const auto& r : m)
    for (const auto& v : r) n += v.get<uint64_t>();
  return n;
}

uint64_t trace(const json& m) {
  uint64_t n = 0;
  for (size_t i = 0; i < m.size(); ++i) n += m[i][i].get<uint64_t>();
  return n;
}

json eval_json(const fs::path& dir, std::vector<std::string> args) {
  args.insert(args.begin(), "eval");
  args.insert(args.end(), {"--json", "--threads", "2"});
  auto r = run_kura(dir, args);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return json::parse(r.out);
}

}  // namespace

TEST_CASE("kura eval scores a run on another commit with the expected confusion matrix and reuses its record",
          "[train][eval]") {
  TempDir dir;
  cut_digits(dir.path(), 30, 10);
  init_repo(dir.path());
  commit_all(dir.path());
  auto trained = run_kura(dir.path(), {"train", "--json", "--threads", "2", "--set", "epochs=3"});
  INFO(trained.err);
  REQUIRE(trained.exit_code == 0);
  const json run = json::parse(trained.out);
  const std::string id = run["id"], first_commit = run["spec"]["commit"];
  auto show = run_kura(dir.path(), {"run", "show", id, "--json"});
  REQUIRE(show.exit_code == 0);
  const json recorded = json::parse(show.out)["metrics_data"]["confusion"];
  REQUIRE(total(recorded) == 100);

  // On its own commit the eval sees what training saw after its last epoch.
  const json a = eval_json(dir.path(), {id, "--rev", first_commit});
  CHECK(a["reused"] == false);
  CHECK(a["model"] == id);
  CHECK(a["commit"] == first_commit);
  CHECK(a["source"] == "validation.jsonl");
  CHECK(a["confusion"] == recorded);
  CHECK(a["counts"]["examples"] == 100);
  CHECK(a["accuracy"].get<double>() == Approx(static_cast<double>(trace(recorded)) / 100));
  REQUIRE(a["wrong"].size() == 100 - trace(recorded));
  for (const auto& w : a["wrong"]) {
    CHECK(w["file"] == "validation.jsonl");
    CHECK(w["true"] != w["predicted"]);
    const int line = w["line"];
    CHECK((line >= 1 && line <= 100));
    CHECK(w["true"] == std::to_string((line - 1) / 10));  // ten validation rows per digit, in order
    CHECK(w["image"].get<std::string>().size() == 64);
  }
  // Precision and recall of one class, from the matrix.
  uint64_t column = 0, row = 0;
  for (size_t i = 0; i < 10; ++i) column += recorded[i][4].get<uint64_t>(), row += recorded[4][i].get<uint64_t>();
  const double tp = recorded[4][4].get<double>();
  CHECK(a["classes"][4]["label"] == "4");
  CHECK(a["classes"][4]["support"] == row);
  CHECK(a["classes"][4]["recall"].get<double>() == Approx(tp / static_cast<double>(row)));
  if (column) CHECK(a["classes"][4]["precision"].get<double>() == Approx(tp / static_cast<double>(column)));

  // Second commit: the 3s of validation.jsonl now say 5, and the 9s are gone.
  std::istringstream lines(read_file(dir / "validation.jsonl"));
  std::string changed, line;
  for (int n = 1; std::getline(lines, line); ++n) {
    const int digit = (n - 1) / 10;
    if (digit == 9) continue;
    if (digit == 3) line.replace(line.rfind(R"("content":"3")"), 13, R"("content":"5")");
    changed += line + "\n";
  }
  write_file(dir / "validation.jsonl", changed);
  commit_all(dir.path());
  const json b = eval_json(dir.path(), {id});
  CHECK(b["reused"] == false);
  CHECK(b["commit"] != first_commit);
  json expected = recorded;
  for (size_t p = 0; p < 10; ++p) {
    expected[5][p] = recorded[5][p].get<uint64_t>() + recorded[3][p].get<uint64_t>();
    expected[3][p] = 0;
    expected[9][p] = 0;
  }
  CHECK(b["confusion"] == expected);
  CHECK(b["counts"]["examples"] == 90);
  CHECK(b["classes"][9]["support"] == 0);

  // The second time nothing is computed: the stored record is given back.
  const json again = eval_json(dir.path(), {id});
  CHECK(again["reused"] == true);
  CHECK(again["key"] == b["key"]);
  CHECK(again["confusion"] == expected);
  CHECK(again["created"] == b["created"]);
  auto text = run_kura(dir.path(), {"eval", id, "--threads", "2"});
  REQUIRE(text.exit_code == 0);
  CHECK(text.out.find("reused the stored record") != std::string::npos);
  CHECK(text.out.find("confusion matrix") != std::string::npos);
  CHECK(b["key"] == "eval/" + id + "/" + b["commit"].get<std::string>() + "/validation");
  CHECK(b["pixels"] == 2);

  // A record made from an older decoder's pixels (no "pixels", or another
  // version) is not reused: it is computed again and replaced.
  {
    auto repo = kura::Repo::open(dir.path());
    json stale = again;
    stale.erase("pixels");
    stale.erase("reused");
    stale["accuracy"] = 0.5;  // what the old pixels gave, say
    repo->store().put(kura::Table::kRuns, b["key"].get<std::string>(), stale.dump(), kura::Sync::kYes);
  }
  const json redone = eval_json(dir.path(), {id});
  CHECK(redone["reused"] == false);
  CHECK(redone["pixels"] == 2);
  CHECK(redone["accuracy"] == b["accuracy"]);
  CHECK(redone["confusion"] == expected);
  CHECK(eval_json(dir.path(), {id})["reused"] == true);

  // fsck takes eval records for what they are, and gc leaves them.
  REQUIRE(run_kura(dir.path(), {"gc", "--prune", "now"}).exit_code == 0);
  auto fsck = run_kura(dir.path(), {"fsck"});
  INFO(fsck.out << fsck.err);
  CHECK(fsck.exit_code == 0);

  // kura runs and kura run show list the run's two evals.
  auto runs = run_kura(dir.path(), {"runs", "--json"});
  REQUIRE(runs.exit_code == 0);
  const json listed = json::parse(runs.out)[0]["evals"];
  REQUIRE(listed.size() == 2);
  CHECK(listed[0]["commit"] == first_commit);
  CHECK(listed[1]["commit"] == b["commit"]);
  auto shown = run_kura(dir.path(), {"run", "show", id});
  CHECK(shown.out.find("eval:     commit " + first_commit.substr(0, 12) + ", validation: accuracy") != std::string::npos);

  // An exported model scores the same as its run, under its own model id.
  REQUIRE(run_kura(dir.path(), {"export-model", id, (dir / "model.pt").string()}).exit_code == 0);
  const json file = eval_json(dir.path(), {"--model", (dir / "model.pt").string(), "--rev", first_commit});
  CHECK(file["reused"] == false);
  CHECK(file["model"] != id);
  CHECK(file["model_source"]["file"] == sha256_hex(read_file(dir / "model.pt")));
  CHECK(file["confusion"] == recorded);
}

TEST_CASE("kura eval names what is wrong with a bad model or split", "[train][eval]") {
  TempDir dir;
  cut_digits(dir.path(), 3, 1);
  init_repo(dir.path());
  commit_all(dir.path());
  write_file(dir / "not-a-model.pt", "hello");
  auto r = run_kura(dir.path(), {"eval", "--model", (dir / "not-a-model.pt").string()});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("not-a-model.pt: the model is not a TorchScript file") != std::string::npos);
  r = run_kura(dir.path(), {"eval"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("give a run id or --model FILE") != std::string::npos);
  r = run_kura(dir.path(), {"eval", "abcd1234"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("no run abcd1234") != std::string::npos);
}
