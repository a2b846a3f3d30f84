// kura run diff on two runs of two commits: the data diff of the commits row
// by row, the scores side by side with their deltas, per-class F1 from each
// run's confusion matrix, and the eval records of each.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <sstream>

#include "support.hpp"
#include "train/digits.hpp"

using namespace kura::test;
using nlohmann::json;

namespace {

json kura_ok(const fs::path& dir, const std::vector<std::string>& args) {
  auto r = run_kura(dir, args);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return json::parse(r.out);
}

// F1 of class `c` from a confusion matrix [true][predicted].
double f1(const json& m, size_t c) {
  double tp = m[c][c].get<double>(), actual = 0, predicted = 0;
  for (size_t k = 0; k < m.size(); ++k) actual += m[c][k].get<double>(), predicted += m[k][c].get<double>();
  const double p = predicted > 0 ? tp / predicted : 0, r = actual > 0 ? tp / actual : 0;
  return p + r > 0 ? 2 * p * r / (p + r) : 0;
}

}  // namespace

TEST_CASE("run diff shows two runs' scores and evals side by side with the row diff of their commits",
          "[train][rundiff]") {
  TempDir dir;
  cut_digits(dir.path(), 20, 10);
  init_repo(dir.path());
  commit_all(dir.path());
  const json a = kura_ok(dir.path(), {"train", "--json", "--threads", "2", "--set", "epochs=1"});

  // Second commit: two training rows of digit 3 relabelled 5, the last five 9s dropped.
  std::istringstream lines(read_file(dir / "train.jsonl"));
  std::string changed, line;
  for (int n = 1; std::getline(lines, line); ++n) {
    const int digit = (n - 1) / 20, k = (n - 1) % 20;
    if (digit == 9 && k >= 15) continue;
    if (digit == 3 && (k == 4 || k == 11)) line.replace(line.rfind(R"("content":"3")"), 13, R"("content":"5")");
    changed += line + "\n";
  }
  write_file(dir / "train.jsonl", changed);
  commit_all(dir.path());
  const json b = kura_ok(dir.path(), {"train", "--json", "--threads", "2", "--set", "epochs=2"});
  const std::string first = a["spec"]["commit"], second = b["spec"]["commit"];
  REQUIRE(first != second);

  // Evals: both runs on the second commit (paired), run a on its own too (a only).
  const json ea2 = kura_ok(dir.path(), {"eval", a["id"], "--json", "--threads", "2"});
  const json eb2 = kura_ok(dir.path(), {"eval", b["id"], "--json", "--threads", "2"});
  const json ea1 = kura_ok(dir.path(), {"eval", a["id"], "--rev", first, "--json", "--threads", "2"});

  const json d = kura_ok(dir.path(), {"run", "diff", a["id"], b["id"], "--json"});
  CHECK(d["a"] == a["id"]);
  CHECK(d["b"] == b["id"]);
  const double acc_a = a["summary"]["validation_accuracy"], acc_b = b["summary"]["validation_accuracy"];
  CHECK(d["scores"]["validation_accuracy"]["a"].get<double>() == acc_a);
  CHECK(d["scores"]["validation_accuracy"]["b"].get<double>() == acc_b);
  CHECK(d["scores"]["validation_accuracy"]["delta"].get<double>() == Approx(acc_b - acc_a));
  const json ma = kura_ok(dir.path(), {"run", "show", a["id"], "--json"})["metrics_data"];
  const json mb = kura_ok(dir.path(), {"run", "show", b["id"], "--json"})["metrics_data"];
  CHECK(d["scores"]["validation_loss"]["a"] == ma["epochs"][0]["validation_loss"]);
  CHECK(d["scores"]["validation_loss"]["b"] == mb["epochs"][1]["validation_loss"]);
  CHECK(d["scores"]["train_accuracy"]["b"] == mb["epochs"][1]["train_accuracy"]);

  REQUIRE(d["classes"].size() == 10);
  for (size_t c = 0; c < 10; ++c) {
    CHECK(d["classes"][c]["label"] == std::to_string(c));
    CHECK(d["classes"][c]["a"].get<double>() == Approx(f1(ma["confusion"], c)));
    CHECK(d["classes"][c]["b"].get<double>() == Approx(f1(mb["confusion"], c)));
    CHECK(d["classes"][c]["delta"].get<double>() == Approx(f1(mb["confusion"], c) - f1(ma["confusion"], c)));
    CHECK(d["classes"][c]["support"]["a"] == 10);
  }

  REQUIRE(d["evals"]["a"].size() == 2);
  REQUIRE(d["evals"]["b"].size() == 1);
  REQUIRE(d["evals"]["paired"].size() == 1);
  const json& p = d["evals"]["paired"][0];
  CHECK(p["commit"] == second);
  CHECK(p["split"] == "validation");
  CHECK(p["a"] == ea2["accuracy"]);
  CHECK(p["b"] == eb2["accuracy"]);
  CHECK(p["delta"].get<double>() == Approx(eb2["accuracy"].get<double>() - ea2["accuracy"].get<double>()));

  // The data diff is row-level: 200 rows against 195, five removed and two modified.
  const json& rows = d["rows"];
  REQUIRE(rows.is_object());
  CHECK(rows["totals"]["rows_removed"] == 5);
  CHECK(rows["totals"]["rows_modified"] == 2);
  CHECK(rows["totals"]["rows_added"] == 0);
  REQUIRE(rows["files"].size() == 1);
  CHECK(rows["files"][0]["path"] == "train.jsonl");
  CHECK(rows["files"][0]["stat"]["old_rows"] == 200);
  CHECK(rows["files"][0]["stat"]["new_rows"] == 195);
  CHECK(d["data"].size() == 1);

  auto text = run_kura(dir.path(), {"run", "diff", a["id"], b["id"]});
  INFO(text.out);
  REQUIRE(text.exit_code == 0);
  CHECK(text.out.find("rows +0 -5 ~2") != std::string::npos);
  CHECK(text.out.find("settings.epochs: 1 -> 2") != std::string::npos);
  CHECK(text.out.find("validation accuracy") != std::string::npos);
  CHECK(text.out.find("per-class F1") != std::string::npos);
  CHECK(text.out.find("commit " + second.substr(0, 12) + " validation: accuracy") != std::string::npos);
  CHECK(text.out.find("a only: commit " + first.substr(0, 12) + " validation") != std::string::npos);
  CHECK(ea1["commit"] == first);

  // The same commit: no data diff, and the JSON says so.
  const json c = kura_ok(dir.path(), {"train", "--json", "--threads", "2", "--set", "epochs=1", "--seed", "7"});
  const json same = kura_ok(dir.path(), {"run", "diff", b["id"], c["id"], "--json"});
  CHECK(same["rows"].is_null());
  CHECK(same["data"].empty());
  CHECK(same["evals"]["paired"].empty());
  CHECK(same["evals"]["b"].empty());
}
