#include "diff/labels.hpp"

#include <nlohmann/json.hpp>

#include <mutex>
#include <unordered_map>

#include "kura/error.hpp"
#include "kura/objects.hpp"
#include "kura/store.hpp"
#include "util/parallel.hpp"

namespace kura::difflib {

namespace {

// Bump when label_of() can give another label for the same row.
constexpr std::string_view kCachePrefix = "diff-labels/1/";

std::string text_of(const nlohmann::json& content) {
  if (content.is_string()) return content.get<std::string>();
  if (content.is_array()) {
    std::string out;
    for (const auto& part : content)
      if (part.is_object() && part.value("type", "") == "text" && part.contains("text") && part["text"].is_string())
        out += (out.empty() ? "" : " ") + part["text"].get<std::string>();
    return out;
  }
  return content.is_null() ? std::string() : content.dump();
}

}  // namespace

std::string label_of(const std::string& body, const std::string& field) {
  auto row = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (row.is_discarded()) return "(invalid JSON)";
  try {
    if (!field.empty()) {
      const auto& v = row.at(nlohmann::json::json_pointer(field));
      return v.is_string() ? v.get<std::string>() : v.dump();
    }
    if (!row.is_object()) return "(none)";
    if (row.contains("messages") && row["messages"].is_array()) {
      const auto& m = row["messages"];
      for (auto it = m.rbegin(); it != m.rend(); ++it)
        if (it->is_object() && it->value("role", "") == "assistant" && it->contains("content"))
          return text_of((*it)["content"]);
    }
    if (row.contains("conversations") && row["conversations"].is_array()) {
      const auto& m = row["conversations"];
      for (auto it = m.rbegin(); it != m.rend(); ++it)
        if (it->is_object() && it->value("from", "") == "gpt" && it->contains("value")) return text_of((*it)["value"]);
    }
  } catch (const nlohmann::json::exception&) {
    // A missing pointer, or a pointer that is not one: no label.
  }
  return "(none)";
}

void count_labels(Store& store, const std::optional<ObjectId>& old_manifest,
                  const std::optional<ObjectId>& new_manifest, const std::string& field, unsigned threads,
                  LabelCounts& old_counts, LabelCounts& new_counts) {
  // Each distinct chunk once, with how often each side holds it.
  struct Use {
    ManifestChunk chunk;
    uint64_t old_n = 0, new_n = 0;
  };
  std::vector<Use> uses;
  std::unordered_map<ObjectId, size_t, ObjectIdHash> index;
  auto note = [&](const std::optional<ObjectId>& manifest, bool is_old) {
    if (!manifest) return;
    for (const auto& c : read_manifest_chunks(store, *manifest)) {
      auto [it, fresh] = index.try_emplace(c.id, uses.size());
      if (fresh) uses.push_back({c});
      ++(is_old ? uses[it->second].old_n : uses[it->second].new_n);
    }
  };
  note(old_manifest, true);
  note(new_manifest, false);
  std::mutex merge;
  parallel_for(uses.size(), threads, [&](size_t i) {
    LabelCounts local;
    // A chunk's labels never change: they are cached by chunk id and field.
    const std::string key = std::string(kCachePrefix) + field + '\0' + std::string(uses[i].chunk.id.raw());
    if (auto cached = store.get(Table::kChecks, key)) {
      try {
        local = nlohmann::json::from_msgpack(*cached).get<LabelCounts>();
      } catch (const nlohmann::json::exception&) {
        local.clear();  // a damaged entry is a miss
      }
    }
    if (local.empty()) {
      for (const auto& ref : read_chunk(store, uses[i].chunk))
        ++local[label_of(decode_row(store.read_object(ref.row), ref.row).body, field)];
      auto packed = nlohmann::json::to_msgpack(nlohmann::json(local));
      if (store.writable())  // a store opened read-only: counted, not cached
        store.put(Table::kChecks, key, std::string_view(reinterpret_cast<const char*>(packed.data()), packed.size()));
    }
    std::lock_guard<std::mutex> guard(merge);
    for (const auto& [label, n] : local) {
      if (uses[i].old_n) old_counts[label] += n * uses[i].old_n;
      if (uses[i].new_n) new_counts[label] += n * uses[i].new_n;
    }
  });
}

}  // namespace kura::difflib
