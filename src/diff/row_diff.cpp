#include "diff/row_diff.hpp"

#include <algorithm>

#include "util/align.hpp"
#include "diff/images.hpp"

namespace kura::difflib {

namespace {

constexpr std::string_view kDataImage = "data:image/";
constexpr std::string_view kBase64 = ";base64,";
constexpr std::string_view kMarker = "[image/";
constexpr std::string_view kSha = " sha256:";

bool is_subtype(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '+' ||
         c == '-';
}
bool is_payload(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/' ||
         c == '=' || c == '\\';
}

// Rewrites every data URI of `body` (whose cut-out images sit at `images`'
// offsets) as a marker, so no base64 ever reaches a diff.
std::string mark_images(const std::string& body, const std::vector<RowImage>& images) {
  std::string out;
  size_t copied = 0, pos = 0, next_image = 0;
  while ((pos = body.find(kDataImage, pos)) != std::string::npos) {
    size_t q = pos + kDataImage.size();
    while (q < body.size() && is_subtype(body[q])) ++q;
    if (body.compare(q, kBase64.size(), kBase64) != 0) {
      pos = q;
      continue;
    }
    const std::string subtype = body.substr(pos + kDataImage.size(), q - pos - kDataImage.size());
    const size_t start = q + kBase64.size();
    while (next_image < images.size() && images[next_image].offset < start) ++next_image;
    out.append(body, copied, pos - copied);
    if (next_image < images.size() && images[next_image].offset == start) {
      out += std::string(kMarker) + subtype + std::string(kSha) + images[next_image].media.hex() + "]";
      ++next_image;
      copied = pos = start;
      continue;
    }
    size_t end = start;
    while (end < body.size() && is_payload(body[end])) ++end;
    out += std::string(kMarker) + subtype + ", " + std::to_string(end - start) + " base64 characters]";
    copied = pos = end;
  }
  out.append(body, copied);
  return out;
}

std::string tail_pointer(const std::string& pointer, size_t from) { return pointer.substr(from); }

// message and part indices of a pointer into "messages" or "conversations".
void locate(ValueChange& c) {
  for (std::string_view root : {"/messages/", "/conversations/"}) {
    if (c.pointer.rfind(root, 0) != 0) continue;
    size_t p = root.size(), q = c.pointer.find('/', p);
    std::string idx = c.pointer.substr(p, q == std::string::npos ? std::string::npos : q - p);
    if (idx.empty() || idx.find_first_not_of("0123456789") != std::string::npos) return;
    c.message = std::stoi(idx);
    if (q == std::string::npos) return;
    const std::string rest = tail_pointer(c.pointer, q);
    if (rest.rfind("/content/", 0) == 0) {
      size_t r = 9, s = rest.find('/', r);
      std::string part = rest.substr(r, s == std::string::npos ? std::string::npos : s - r);
      if (!part.empty() && part.find_first_not_of("0123456789") == std::string::npos) c.part = std::stoi(part);
    }
    return;
  }
}

std::string escape_token(const std::string& key) {
  std::string out;
  for (char ch : key) {
    if (ch == '~') out += "~0";
    else if (ch == '/') out += "~1";
    else out += ch;
  }
  return out;
}

void add_change(std::vector<ValueChange>& out, ValueChange::Kind kind, const std::string& pointer,
                const nlohmann::json* a, const nlohmann::json* b) {
  ValueChange c;
  c.kind = kind;
  c.pointer = pointer;
  if (a) c.old_value = *a;
  if (b) c.new_value = *b;
  locate(c);
  if (a && b && a->is_string() && b->is_string() && !image_in(*a) && !image_in(*b))
    c.text = word_diff(a->get_ref<const std::string&>(), b->get_ref<const std::string&>());
  out.push_back(std::move(c));
}

void compare_values(const nlohmann::json& a, const nlohmann::json& b, const std::string& pointer,
                    std::vector<ValueChange>& out) {
  if (a == b) return;
  if (a.is_object() && b.is_object()) {
    for (auto it = a.begin(); it != a.end(); ++it) {
      const std::string p = pointer + "/" + escape_token(it.key());
      auto other = b.find(it.key());
      if (other == b.end()) add_change(out, ValueChange::Kind::kRemoved, p, &it.value(), nullptr);
      else compare_values(it.value(), *other, p, out);
    }
    for (auto it = b.begin(); it != b.end(); ++it)
      if (!a.contains(it.key()))
        add_change(out, ValueChange::Kind::kAdded, pointer + "/" + escape_token(it.key()), nullptr, &it.value());
    return;
  }
  if (a.is_array() && b.is_array()) {
    // Equal ends stay aligned, so a message inserted in the middle is one addition.
    size_t n = a.size(), m = b.size(), pre = 0, suf = 0;
    while (pre < n && pre < m && a[pre] == b[pre]) ++pre;
    while (suf < n - pre && suf < m - pre && a[n - 1 - suf] == b[m - 1 - suf]) ++suf;
    const size_t na = n - pre - suf, nb = m - pre - suf, common = std::min(na, nb);
    for (size_t k = 0; k < common; ++k)
      compare_values(a[pre + k], b[pre + k], pointer + "/" + std::to_string(pre + k), out);
    for (size_t k = common; k < na; ++k)
      add_change(out, ValueChange::Kind::kRemoved, pointer + "/" + std::to_string(pre + k), &a[pre + k], nullptr);
    for (size_t k = common; k < nb; ++k)
      add_change(out, ValueChange::Kind::kAdded, pointer + "/" + std::to_string(pre + k), nullptr, &b[pre + k]);
    return;
  }
  add_change(out, ValueChange::Kind::kChanged, pointer, &a, &b);
}

std::vector<std::string> tokens(std::string_view s) {
  std::vector<std::string> out;
  size_t i = 0;
  auto kind = [](unsigned char c) { return std::isspace(c) ? 0 : (std::isalnum(c) || c >= 0x80) ? 1 : 2; };
  while (i < s.size()) {
    size_t j = i + 1;
    int k = kind(s[i]);
    if (k != 2)
      while (j < s.size() && kind(s[j]) == k) ++j;
    out.emplace_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

}  // namespace

RowView view_row(const Row& row) {
  RowView v;
  v.text = mark_images(row.body, row.images);
  for (const auto& im : row.images) v.images.push_back(im.media);
  v.value = nlohmann::json::parse(v.text, nullptr, /*allow_exceptions=*/false);
  v.json = !v.value.is_discarded();
  if (!v.json) v.value = nullptr;
  return v;
}

std::optional<ObjectId> image_in(const nlohmann::json& value) {
  if (!value.is_string()) return std::nullopt;
  const auto& s = value.get_ref<const std::string&>();
  if (s.size() < kMarker.size() + kSha.size() + 65 || s.rfind(kMarker, 0) != 0 || s.back() != ']') return std::nullopt;
  const size_t sha = s.size() - 65 - kSha.size();
  if (s.compare(sha, kSha.size(), kSha) != 0) return std::nullopt;
  return ObjectId::from_hex(std::string_view(s).substr(s.size() - 65, 64));
}

void compare_rows(const RowView& old_row, const RowView& new_row, RowChange& change) {
  change.old_json = old_row.json;
  change.new_json = new_row.json;
  if (old_row.json && new_row.json) {
    compare_values(old_row.value, new_row.value, "", change.changes);
  } else {
    nlohmann::json a = old_row.text, b = new_row.text;
    add_change(change.changes, ValueChange::Kind::kChanged, "", &a, &b);
  }
  for (auto& c : change.changes) {
    if (auto id = image_in(c.old_value)) c.old_image = image_ref(*id);
    if (auto id = image_in(c.new_value)) c.new_image = image_ref(*id);
  }
}

std::vector<TextSpan> word_diff(std::string_view old_text, std::string_view new_text) {
  auto ta = tokens(old_text), tb = tokens(new_text);
  Interner<std::string> intern;
  std::vector<uint32_t> sa, sb;
  for (const auto& t : ta) sa.push_back(intern(t));
  for (const auto& t : tb) sb.push_back(intern(t));
  auto matches = align(sa, sb);
  matches.push_back({static_cast<uint32_t>(ta.size()), static_cast<uint32_t>(tb.size())});
  std::vector<TextSpan> out;
  auto emit = [&](TextSpan::Op op, const std::string& text) {
    if (!out.empty() && out.back().op == op) out.back().text += text;
    else out.push_back({op, text});
  };
  size_t i = 0, j = 0;
  for (const Match& m : matches) {
    for (; i < m.a; ++i) emit(TextSpan::Op::kRemoved, ta[i]);
    for (; j < m.b; ++j) emit(TextSpan::Op::kAdded, tb[j]);
    if (m.a < ta.size()) emit(TextSpan::Op::kSame, ta[m.a]);
    i = m.a + 1;
    j = m.b + 1;
  }
  return out;
}

}  // namespace kura::difflib
