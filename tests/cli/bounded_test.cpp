// Huge bad inputs: a million findings keep memory and printed output
// bounded, and --json still carries every finding.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <fstream>

#include "support.hpp"

using namespace kura::test;
using nlohmann::json;

namespace {

// Counts the findings of a `kura check --json` document without holding it:
// the objects directly inside the top-level "findings" array.
struct FindingCounter : json::json_sax_t {
  int depth = 0;
  bool in_findings = false;
  std::string last_key;
  uint64_t findings = 0, errors = 0;
  bool next_is_errors = false;

  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t v) override {
    if (depth == 2 && last_key == "errors") errors = v;
    return true;
  }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override {
    if (in_findings && depth == 2) ++findings;
    ++depth;
    return true;
  }
  bool end_object() override {
    --depth;
    return true;
  }
  bool start_array(std::size_t) override {
    if (depth == 1 && last_key == "findings") in_findings = true;
    ++depth;
    return true;
  }
  bool end_array() override {
    if (--depth == 1) in_findings = false;
    return true;
  }
  bool key(string_t& k) override {
    last_key = k;
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override { return false; }
};

constexpr long kMaxRssKb = 500 * 1024;

}  // namespace

TEST_CASE("cli: a million bad lines give bounded memory and output, and --json holds every finding", "[cli][large]") {
  TempDir d, out;
  {
    std::ofstream f(d / "train.jsonl");
    for (int i = 0; i < 1'000'000; ++i) f << (i % 2 ? "{\"messages\": 1}\n" : "x\n");
  }
  REQUIRE(run_kura(d.path(), {"init"}).exit_code == 0);
  REQUIRE(run_kura(d.path(), {"add", "train.jsonl"}).exit_code == 0);

  auto check = run_kura_to(out / "report.json", d.path(), {"check", "--json"});
  REQUIRE(check.exit_code == 1);
  CHECK(check.max_rss_kb < kMaxRssKb);
  FindingCounter counter;
  std::ifstream report(out / "report.json");
  REQUIRE(json::sax_parse(report, &counter));
  REQUIRE(counter.findings >= 1'000'000);  // one a line, and jsonl.too_few_examples
  REQUIRE(counter.findings == counter.errors);

  auto commit = run_kura(d.path(), {"commit", "-m", "a million bad lines"});
  REQUIRE(commit.exit_code != 0);
  CHECK(commit.max_rss_kb < kMaxRssKb);
  CHECK(commit.err.size() < 32 * 1024);
  REQUIRE(commit.err.find("jsonl.invalid_json: 499980 more") != std::string::npos);
  REQUIRE(commit.err.find("jsonl.missing_messages: 499980 more") != std::string::npos);
  REQUIRE(commit.err.find("'kura check --staged --all'") != std::string::npos);
  REQUIRE(commit.err.find("1000001 errors") != std::string::npos);
}

TEST_CASE("cli: kura check prints the first findings of each rule, --all and --max-per-rule choose how many",
          "[cli]") {
  TempDir d;
  {
    std::ofstream f(d / "train.jsonl");
    for (int i = 0; i < 30; ++i) f << "x\n";
  }
  auto lines_of = [](const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
    return n;
  };
  auto first = run_kura(d.path(), {"check"});
  REQUIRE(first.exit_code == 1);
  REQUIRE(lines_of(first.out, "error jsonl.invalid_json (line") == 20);
  REQUIRE(first.out.find("jsonl.invalid_json: 10 more") != std::string::npos);
  REQUIRE(first.out.find("see every finding with 'kura check --all'") != std::string::npos);
  auto all = run_kura(d.path(), {"check", "--all"});
  REQUIRE(lines_of(all.out, "error jsonl.invalid_json (line") == 30);
  // Only the rule's block names more (its first three, then the rest); no detail is held back.
  REQUIRE(lines_of(all.out, "more") == 1);
  REQUIRE(all.out.find("          ... and 27 more\n") != std::string::npos);
  auto five = run_kura(d.path(), {"check", "--max-per-rule", "5"});
  REQUIRE(lines_of(five.out, "error jsonl.invalid_json (line") == 5);
  REQUIRE(five.out.find("jsonl.invalid_json: 25 more") != std::string::npos);
}
