#pragma once

/// @file
/// The HTTP/1.1 message grammar (RFC 9110, RFC 9112) behind `http::request_parser` and
/// `http::response_parser`: character classes, field lines, framing and chunked bodies, in one
/// incremental scanner that both parsers drive with their own start line.
///
/// The vocabulary types the two public parsers share (`parser_limits`, `parse_error`,
/// `parse_status`, `header_field`) are defined here too, in `statefun::http`.

#include <statefun/config.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace statefun::inline v0::http {

/// What a parser accepts at most. Each limit is enforced as soon as the bytes received show it is
/// exceeded, so a peer can never make the caller buffer more than the limits allow.
struct parser_limits {
  /// Start line and header section; chunk extensions and trailer fields count against it too (431).
  std::size_t max_head_bytes = 16 * 1024;
  /// The (decoded) body (413).
  std::uint64_t max_body_bytes = 64ull << 20;
  /// Header fields, trailer fields included (431).
  std::size_t max_header_fields = 100;
};

/// Why a message was refused: the status a server answers with, and a short static text.
struct parse_error {
  int status = 0;
  std::string_view reason;
};

/// What a call to `parse` found.
enum class parse_status {
  need_more,  ///< not complete: append the next bytes and call again
  complete,   ///< one whole message: `body()` and `message_size()` are valid
  failed,     ///< malformed or over a limit: `error()` says why; close the connection
};

/// One header or trailer field, as views into the parsed buffer.
struct header_field {
  std::string_view name;
  std::string_view value;
};

}  // namespace statefun::inline v0::http

namespace statefun::inline v0::detail::http1 {

namespace http = ::statefun::v0::http;

/// `a + b`, or SIZE_MAX where that overflows (a limit of SIZE_MAX means "no limit").
inline std::size_t saturating_add(std::size_t a, std::size_t b) noexcept { return a + b < a ? SIZE_MAX : a + b; }

// --- Characters (RFC 9110 §5.5, §5.6.2, §5.6.4; RFC 3986 §3.1) ---------------------------------

enum char_class : std::uint8_t {
  tchar = 1,        ///< token characters
  field_char = 2,   ///< field values and reason phrases: VCHAR, obs-text, SP, HTAB
  qdtext = 4,       ///< inside a quoted-string, besides a quoted-pair
  target_char = 8,  ///< request-target: VCHAR
  hexdig = 16,
  scheme_char = 32,  ///< URI scheme after its first letter
};

inline constexpr std::array<std::uint8_t, 256> char_classes = [] {
  std::array<std::uint8_t, 256> table{};
  constexpr std::string_view token_punctuation = "!#$%&'*+-.^_`|~";
  for (int c = 0; c < 256; ++c) {
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    const bool digit = c >= '0' && c <= '9';
    const bool vchar = c >= 0x21 && c <= 0x7E;
    const bool text = vchar || c >= 0x80 || c == ' ' || c == '\t';
    std::uint8_t k = 0;
    if (alpha || digit || (vchar && token_punctuation.find(static_cast<char>(c)) != std::string_view::npos)) {
      k |= tchar;
    }
    if (text) {
      k |= field_char;
    }
    if (text && c != '"' && c != '\\') {
      k |= qdtext;
    }
    if (vchar) {
      k |= target_char;
    }
    if (digit || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) {
      k |= hexdig;
    }
    if (alpha || digit || c == '+' || c == '-' || c == '.') {
      k |= scheme_char;
    }
    table[static_cast<std::size_t>(c)] = k;
  }
  return table;
}();

inline bool is(char c, char_class k) noexcept { return (char_classes[static_cast<unsigned char>(c)] & k) != 0; }

/// The first position at or after `from` whose character is not of class `k`.
inline std::size_t skip(std::string_view s, std::size_t from, char_class k) noexcept {
  // Four at a time while four remain: tokens and targets are most of a head's bytes.
  while (from + 4 <= s.size() && is(s[from], k) && is(s[from + 1], k) && is(s[from + 2], k) && is(s[from + 3], k)) {
    from += 4;
  }
  while (from < s.size() && is(s[from], k)) {
    ++from;
  }
  return from;
}

/// True when none of the eight bytes at `p` is a control character (below 0x20, or 0x7F).
inline bool no_controls(const char* p) noexcept {
  constexpr std::uint64_t ones = 0x0101010101010101u;
  std::uint64_t x;
  std::memcpy(&x, p, 8);
  // The "has less than" and "has zero byte" tricks: a byte below 0x20, or equal to 0x7F, sets
  // some high bit; obs-text bytes (>= 0x80) are masked out by ~x and never do.
  const std::uint64_t del = x ^ (0x7F * ones);
  return ((((x - 0x20 * ones) & ~x) | ((del - ones) & ~del)) & (0x80 * ones)) == 0;
}

/// `skip(s, from, field_char)`, eight bytes at a time. HTAB is a control character too, so a
/// word holding one (rare) takes the byte loop.
inline std::size_t skip_field_chars(std::string_view s, std::size_t from) noexcept {
  for (; from + 8 <= s.size(); from += 8) {
    if (!no_controls(s.data() + from)) {
      return skip(s, from, field_char);
    }
  }
  // Fewer than eight left: the line's last eight bytes cover them. Those before `from` are
  // checked already, or belong to the name, colon and OWS (where a tab takes the byte loop).
  if (from < s.size() && s.size() >= 8 && no_controls(s.data() + s.size() - 8)) {
    return s.size();
  }
  return skip(s, from, field_char);
}

/// The first position at or after `from` that is not optional whitespace (SP / HTAB).
inline std::size_t skip_ows(std::string_view s, std::size_t from) noexcept {
  while (from < s.size() && (s[from] == ' ' || s[from] == '\t')) {
    ++from;
  }
  return from;
}

inline std::string_view trim_ows(std::string_view s) noexcept {
  s.remove_prefix(skip_ows(s, 0));
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

inline char ascii_lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c; }

/// ASCII case-insensitive equality: field names, tokens and the codings are case-insensitive.
inline bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) {
      return false;
    }
  }
  return true;
}

/// `iequals(a, lower)` where `lower` is already lower-case (our literals): half the work.
inline bool iequals_lower(std::string_view a, std::string_view lower) noexcept {
  if (a.size() != lower.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != lower[i]) {
      return false;
    }
  }
  return true;
}

/// True if the comma-separated field value `list` has an element equal to `token`, ignoring
/// ASCII case and the whitespace around elements (`Connection: keep-alive, Close`).
inline bool list_contains(std::string_view list, std::string_view token) noexcept {
  while (!list.empty()) {
    const std::size_t comma = list.find(',');
    if (iequals(trim_ows(list.substr(0, comma)), token)) {
      return true;
    }
    list.remove_prefix(comma == std::string_view::npos ? list.size() : comma + 1);
  }
  return false;
}

/// `1*DIGIT` as an unsigned 64-bit number; nothing for anything else, overflow included.
inline std::optional<std::uint64_t> parse_decimal(std::string_view s) noexcept {
  if (s.empty()) {
    return std::nullopt;
  }
  std::uint64_t value = 0;
  for (const char c : s) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (value > (UINT64_MAX - digit) / 10) {
      return std::nullopt;
    }
    value = value * 10 + digit;
  }
  return value;
}

inline std::uint64_t hex_value(char c) noexcept {
  const char lower = ascii_lower(c);
  return static_cast<std::uint64_t>(lower <= '9' ? lower - '0' : lower - 'a' + 10);
}

// --- Lines ---------------------------------------------------------------------------------------

/// `HTTP/1.0` or `HTTP/1.1`: the minor version; another `HTTP/d.d` is 505, anything else 400.
struct version_result {
  int minor = 0;
  http::parse_error error;
};

inline version_result parse_version(std::string_view v) noexcept {
  const auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (v.size() != 8 || v.substr(0, 5) != "HTTP/" || !digit(v[5]) || v[6] != '.' || !digit(v[7])) {
    return {0, {400, "malformed HTTP version"}};
  }
  if (v[5] != '1' || (v[7] != '0' && v[7] != '1')) {
    return {0, {505, "HTTP version not supported"}};
  }
  return {v[7] - '0', {}};
}

/// A field line (RFC 9112 §5): where its name ends and its value, OWS trimmed, lies.
struct field_line {
  std::size_t name_end = 0;
  std::size_t value_begin = 0;
  std::size_t value_end = 0;
  http::parse_error error;
};

/// Splits `line` (without its CRLF) into `token ":" OWS value OWS`, or says why it is malformed.
inline field_line parse_field_line(std::string_view line) noexcept {
  field_line f;
  f.name_end = skip(line, 0, tchar);
  if (f.name_end == 0) {
    // A line that starts with whitespace continues the previous one: obs-fold, which a server
    // must refuse or unfold (§5.2); unfolding would let two parsers disagree, so we refuse.
    const bool fold = !line.empty() && (line[0] == ' ' || line[0] == '\t');
    f.error = {400, fold ? "obsolete line folding" : "malformed field name"};
    return f;
  }
  if (f.name_end == line.size() || line[f.name_end] != ':') {
    const bool space = f.name_end < line.size() && (line[f.name_end] == ' ' || line[f.name_end] == '\t');
    f.error = {400, space ? "whitespace after a field name" : "malformed field name"};
    return f;
  }
  f.value_begin = skip_ows(line, f.name_end + 1);
  if (skip_field_chars(line, f.value_begin) != line.size()) {
    f.error = {400, "control character in a field value"};
    return f;
  }
  f.value_end = line.size();
  while (f.value_end > f.value_begin && (line[f.value_end - 1] == ' ' || line[f.value_end - 1] == '\t')) {
    --f.value_end;
  }
  return f;
}

/// The end of the quoted-string that starts at `at` (a DQUOTE), or `at` when it is malformed.
inline std::size_t quoted_string_end(std::string_view s, std::size_t at) noexcept {
  for (std::size_t i = at + 1; i < s.size(); ++i) {
    if (s[i] == '"') {
      return i + 1;
    }
    if (s[i] == '\\') {
      if (i + 1 == s.size() || !is(s[i + 1], field_char)) {
        return at;
      }
      ++i;
    } else if (!is(s[i], qdtext)) {
      return at;
    }
  }
  return at;
}

/// Hex digits a chunk size may have: 16 fill 64 bits, so the size cannot overflow.
inline constexpr std::size_t max_chunk_digits = 16;

/// A chunk-size line (RFC 9112 §7.1): the size and the bytes its extensions take.
struct chunk_line {
  std::uint64_t size = 0;
  std::size_t extension_bytes = 0;
  http::parse_error error;
};

/// Reads `chunk-size *( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] )`.
inline chunk_line parse_chunk_line(std::string_view line) noexcept {
  chunk_line c;
  const std::size_t digits = skip(line, 0, hexdig);
  if (digits == 0 || digits > max_chunk_digits) {
    c.error = {400, digits == 0 ? "malformed chunk size" : "chunk size longer than 16 hex digits"};
    return c;
  }
  for (std::size_t i = 0; i < digits; ++i) {
    c.size = c.size << 4 | hex_value(line[i]);
  }
  c.extension_bytes = line.size() - digits;
  // `i` only moves past a whole extension, so a break leaves it short of the end.
  std::size_t i = digits;
  while (i < line.size()) {
    const std::size_t semicolon = skip_ows(line, i);
    if (semicolon == line.size() || line[semicolon] != ';') {
      break;
    }
    const std::size_t name = skip_ows(line, semicolon + 1);
    const std::size_t name_end = skip(line, name, tchar);
    if (name_end == name) {
      break;
    }
    const std::size_t equals = skip_ows(line, name_end);
    if (equals < line.size() && line[equals] == '=') {
      const std::size_t value = skip_ows(line, equals + 1);
      const bool quoted = value < line.size() && line[value] == '"';
      const std::size_t value_end = quoted ? quoted_string_end(line, value) : skip(line, value, tchar);
      if (value_end == value) {
        break;
      }
      i = value_end;
    } else {
      i = name_end;
    }
  }
  if (i != line.size()) {
    c.error = {400, "malformed chunk extension"};
  }
  return c;
}

/// Why a chunk-size line ran past its window with no LF: a size of too many digits, or (with a
/// well-formed size) extensions longer than the head budget left.
inline http::parse_error overlong_chunk_line(std::string_view prefix) noexcept {
  const std::size_t digits = skip(prefix, 0, hexdig);
  if (digits == 0) {
    return {400, "malformed chunk size"};
  }
  if (digits > max_chunk_digits) {
    return {400, "chunk size longer than 16 hex digits"};
  }
  return {431, "chunk extensions too long"};
}

/// A request-target in origin-form (`/...`), absolute-form (`scheme:...`) or, for OPTIONS only,
/// asterisk-form (RFC 9112 §3.2). The characters are checked already: VCHAR only.
inline bool valid_target(std::string_view method, std::string_view target) noexcept {
  if (target.empty()) {
    return false;
  }
  if (target[0] == '/') {
    return true;
  }
  if (target == "*") {
    return method == "OPTIONS";
  }
  const bool alpha = (target[0] >= 'a' && target[0] <= 'z') || (target[0] >= 'A' && target[0] <= 'Z');
  const std::size_t scheme_end = skip(target, 1, scheme_char);
  return alpha && scheme_end + 1 < target.size() && target[scheme_end] == ':';
}

// --- Fields the scanner interprets ---------------------------------------------------------------

enum class known_field : std::uint8_t { content_length, transfer_encoding, connection, host, expect, other };

inline known_field classify(std::string_view name) noexcept {
  // One length switch and one comparison per field: this runs on every field of every message.
  switch (name.size()) {
    case 4: return iequals_lower(name, "host") ? known_field::host : known_field::other;
    case 6: return iequals_lower(name, "expect") ? known_field::expect : known_field::other;
    case 10: return iequals_lower(name, "connection") ? known_field::connection : known_field::other;
    case 14: return iequals_lower(name, "content-length") ? known_field::content_length : known_field::other;
    case 17: return iequals_lower(name, "transfer-encoding") ? known_field::transfer_encoding : known_field::other;
    default: return known_field::other;
  }
}

/// How a message's body ends (RFC 9112 §6.3).
enum class framing : std::uint8_t {
  none,     ///< no body
  length,   ///< Content-Length bytes
  chunked,  ///< chunked transfer coding, de-chunked in place
  close,    ///< every byte until the peer closes (responses only)
};

/// A text of the buffer as an offset and a size: the buffer may move between calls.
struct text_ref {
  std::size_t offset = 0;
  std::size_t size = 0;
};

// --- The scanner ---------------------------------------------------------------------------------

/**
 * Everything of an HTTP/1.1 message but its start line: the header section, the framing rules,
 * and Content-Length, chunked or close-delimited bodies. A public parser derives from it (as
 * Beast's `parser` derives from `basic_parser`, so the public members below are the parsers' own)
 * and is its `Owner`: `run` calls back `owner.on_start_line(line)` for the first non-empty line
 * and `owner.on_head_end()` once the header section is read and its framing fields checked; each
 * returns false after calling `fail`.
 *
 * All positions are offsets from the start of the message, never pointers: the caller's buffer
 * may move between calls. Each call resumes where the last one stopped, so bytes that arrive one
 * at a time cost no rescans.
 */
class message_parser {
 public:
  /// The head has been parsed and accepted; true from then until `reset`.
  [[nodiscard]] bool head_complete() const noexcept { return head_complete_; }
  /// 0 for HTTP/1.0, 1 for HTTP/1.1.
  [[nodiscard]] int minor_version() const noexcept { return minor_version_; }

  /**
   * Whether the connection may carry another message after this one: HTTP/1.1 unless a
   * `Connection` field lists `close`; HTTP/1.0 only when one lists `keep-alive`. Never after a
   * close-delimited body.
   */
  [[nodiscard]] bool keep_alive() const noexcept {
    if (connection_close_ || framing_ == framing::close) {
      return false;
    }
    return minor_version_ == 1 || connection_keep_alive_;
  }

  /// The value of the first header field called `name` (case-insensitive), OWS trimmed.
  [[nodiscard]] std::optional<std::string_view> header(std::string_view name) const noexcept {
    return find(name, 0, head_fields_);
  }
  [[nodiscard]] std::size_t header_count() const noexcept { return head_fields_; }
  /// The `i`th header field in the order received; `i < header_count()`.
  [[nodiscard]] http::header_field header_at(std::size_t i) const noexcept { return field(i); }

  /// The value of the first trailer field called `name` (chunked bodies only), once complete.
  [[nodiscard]] std::optional<std::string_view> trailer(std::string_view name) const noexcept {
    return find(name, head_fields_, fields_.size());
  }
  [[nodiscard]] std::size_t trailer_count() const noexcept { return fields_.size() - head_fields_; }
  /// The `i`th trailer field; `i < trailer_count()`.
  [[nodiscard]] http::header_field trailer_at(std::size_t i) const noexcept { return field(head_fields_ + i); }

  [[nodiscard]] std::optional<std::uint64_t> content_length() const noexcept { return content_length_; }
  /// `Transfer-Encoding: chunked` was received.
  [[nodiscard]] bool chunked() const noexcept { return chunked_; }

  /// At least this many more bytes are needed: what Content-Length still lacks, or the rest of
  /// the current chunk; 0 when unknown. A hint for sizing the next read.
  [[nodiscard]] std::uint64_t body_bytes_expected() const noexcept {
    if (phase_ == phase::length_body) {
      const std::uint64_t have = size_ - head_end_;
      return *content_length_ > have ? *content_length_ - have : 0;
    }
    return phase_ == phase::chunk_data ? chunk_left_ : 0;
  }

  /**
   * Reclaims the framing of a chunked body parsed so far: moves the bytes not parsed yet down to
   * the end of the de-chunked body, so that they and the next bytes follow it directly. Without
   * it, every chunk-size line and CRLF received stays in the buffer until the message ends (a
   * body of one-byte chunks would take some twenty raw bytes per body byte).
   *
   * Call it right after `parse`, on the same buffer and before appending to it; then drop the
   * returned number of bytes from the end of the buffer (they are now garbage). Offsets,
   * `message_size()` included, are rebased. Costs nothing (returns 0) unless a chunked body is
   * being read and framing bytes were consumed since the last call.
   *
   * @return How many bytes at the end of the buffer are free.
   */
  std::size_t compact() noexcept {
    // Once a trailer field is read, the bytes before `pos_` hold it: they stay (the trailers are
    // within the head budget, and what precedes them within one read).
    if (framing_ != framing::chunked || pos_ == body_end_ || phase_ == phase::complete || phase_ == phase::failed ||
        fields_.size() > head_fields_) {
      return 0;
    }
    const std::size_t gap = pos_ - body_end_;
    std::memmove(data_ + body_end_, data_ + pos_, size_ - pos_);
    pos_ -= gap;
    scan_ -= gap;
    size_ -= gap;
    return gap;
  }

  /// The limits of the next message: call before its first `parse` (after `reset`).
  void set_limits(const http::parser_limits& limits) noexcept { limits_ = limits; }
  [[nodiscard]] const http::parser_limits& limits() const noexcept { return limits_; }

  /// The whole body, contiguous and de-chunked, right after the head; once complete.
  [[nodiscard]] std::string_view body() const noexcept { return view({head_end_, body_end_ - head_end_}); }
  /// How many bytes of the buffer this message took; pipelined bytes follow. Once complete.
  [[nodiscard]] std::size_t message_size() const noexcept { return message_end_; }
  /// Why the message was refused; once failed.
  [[nodiscard]] http::parse_error error() const noexcept { return error_; }

 protected:
  message_parser(http::parser_limits limits, framing unframed) : limits_(limits), unframed_(unframed) {
    // Sized once for the usual limits, so that steady-state parsing never allocates.
    fields_.reserve(std::min<std::size_t>(limits.max_header_fields, 256));
  }
  ~message_parser() = default;  // a base only: never deleted through a pointer to it
  message_parser(const message_parser&) = default;
  message_parser& operator=(const message_parser&) = default;
  message_parser(message_parser&&) noexcept = default;
  message_parser& operator=(message_parser&&) noexcept = default;

  /// Parses what `buffer` holds of the message; see the public parsers' `parse`.
  template <class Owner>
  http::parse_status run(std::span<char> buffer, Owner& owner) {
    data_ = buffer.data();
    size_ = buffer.size();
    // Only the two phases that call the owner are here; the rest is `step()`, compiled once
    // rather than once per owner.
    for (;;) {
      if (phase_ == phase::start_line) {
        const auto line = head_line();
        if (!line) {
          break;
        }
        // Empty lines before a start line are skipped (RFC 9112 §2.2), within the head budget.
        if (!line->empty()) {
          if (!owner.on_start_line(*line)) {
            break;
          }
          phase_ = phase::fields;
        }
      } else if (phase_ == phase::head_end) {
        if (!check_framing() || !owner.on_head_end() || !begin_body()) {
          break;
        }
      } else if (!step()) {
        break;
      }
    }
    return status();
  }

  /// The peer closed the connection: a close-delimited body ends here; any other unfinished
  /// message is truncated.
  http::parse_status close_at_end() {
    if (phase_ == phase::close_body) {
      body_end_ = message_end_ = size_;
      phase_ = phase::complete;
    } else if (phase_ != phase::complete && phase_ != phase::failed) {
      fail(400, "connection closed before the message was complete");
    }
    return status();
  }

  /// Every per-message member back to its start; `fields_` keeps its capacity.
  void reset() noexcept {
    fields_.clear();
    data_ = nullptr;
    size_ = 0;
    phase_ = phase::start_line;
    framing_ = framing::none;
    pos_ = scan_ = head_used_ = head_end_ = head_fields_ = body_end_ = message_end_ = 0;
    chunk_left_ = 0;
    content_length_.reset();
    seen_ = {};
    minor_version_ = 1;
    chunked_ = head_complete_ = connection_close_ = connection_keep_alive_ = no_body_ = false;
    error_ = {};
  }

  /// Records why the message is refused; returns false so that callers can `return fail(...)`.
  bool fail(http::parse_error e) noexcept {
    error_ = e;
    phase_ = phase::failed;
    return false;
  }
  bool fail(int status, std::string_view reason) noexcept { return fail(http::parse_error{status, reason}); }

  /// Reads the version of a start line into `minor_version()`, or fails.
  bool set_version(std::string_view v) noexcept {
    const version_result r = parse_version(v);
    minor_version_ = r.minor;
    return r.error.status == 0 || fail(r.error);
  }

  /// The message has no body whatever its fields say (HEAD, 1xx, 204, 304).
  void no_body() noexcept { no_body_ = true; }
  /// How many header fields of this kind the head held.
  [[nodiscard]] std::size_t seen(known_field k) const noexcept { return seen_[static_cast<std::size_t>(k)]; }

  /// A view into the buffer of this call as offsets, and back: only offsets survive a move.
  [[nodiscard]] text_ref ref(std::string_view s) const noexcept {
    return {static_cast<std::size_t>(s.data() - data_), s.size()};
  }
  [[nodiscard]] std::string_view view(text_ref r) const noexcept {
    // No buffer after reset(): the last message's views are gone, not dangling.
    return data_ == nullptr ? std::string_view{} : std::string_view(data_ + r.offset, r.size);
  }

 private:
  /// Where the scan stands: each phase consumes a line or a run of body bytes.
  enum class phase : std::uint8_t {
    start_line,
    fields,
    head_end,  // the empty line is read: the owner checks the head next
    length_body,
    close_body,
    chunk_size,
    chunk_data,
    chunk_crlf,
    trailers,
    complete,
    failed,
  };

  // Offsets, for the same reason as text_ref; 32 bytes a field, reserved once.
  struct field_ref {
    std::size_t name;
    std::size_t name_size;
    std::size_t value;
    std::size_t value_size;
  };

  [[nodiscard]] http::parse_status status() const noexcept {
    if (phase_ == phase::complete) {
      return http::parse_status::complete;
    }
    return phase_ == phase::failed ? http::parse_status::failed : http::parse_status::need_more;
  }

  /// One step of everything after the start line; false when it needs more bytes or failed.
  bool step() {
    switch (phase_) {
      case phase::fields: return read_field(false);
      case phase::trailers: return read_field(true);
      case phase::length_body: return read_length_body();
      case phase::close_body: return read_close_body();
      case phase::chunk_size: return read_chunk_size();
      case phase::chunk_data: return read_chunk_data();
      case phase::chunk_crlf: return read_chunk_crlf();
      default: return false;
    }
  }

  void advance(std::size_t to) noexcept { pos_ = scan_ = to; }

  /**
   * The CRLF-terminated line at `pos_`, without its CRLF, when its LF lies before `window`;
   * nothing when more bytes are needed or it ends in a bare LF (then failed). The search for LF
   * resumes at `scan_`, where the previous call gave up.
   */
  std::optional<std::string_view> next_line(std::size_t window) {
    const std::size_t end = std::min(size_, window);
    if (scan_ >= end) {
      return std::nullopt;
    }
    const void* lf = std::memchr(data_ + scan_, '\n', end - scan_);
    if (lf == nullptr) {
      scan_ = end;
      return std::nullopt;
    }
    const auto at = static_cast<std::size_t>(static_cast<const char*>(lf) - data_);
    if (at == pos_ || data_[at - 1] != '\r') {
      fail(400, "line ends in a bare LF");
      return std::nullopt;
    }
    const std::string_view line(data_ + pos_, at - 1 - pos_);
    advance(at + 1);
    return line;
  }

  /// The next line of the head or of the trailers, charged to the head budget (431 past it).
  std::optional<std::string_view> head_line() {
    const std::size_t window = saturating_add(pos_, limits_.max_head_bytes - head_used_);
    auto line = next_line(window);
    if (line) {
      head_used_ += line->size() + 2;
    } else if (phase_ != phase::failed && size_ >= window) {
      fail(431, "header section too large");
    }
    return line;
  }

  bool read_field(bool trailer) {
    const auto line = head_line();
    if (!line) {
      return false;
    }
    if (line->empty()) {
      if (trailer) {
        message_end_ = pos_;
        phase_ = phase::complete;
      } else {
        head_end_ = body_end_ = pos_;
        head_fields_ = fields_.size();
        phase_ = phase::head_end;
      }
      return true;
    }
    const field_line f = parse_field_line(*line);
    if (f.error.status != 0) {
      return fail(f.error);
    }
    if (fields_.size() == limits_.max_header_fields) {
      return fail(431, "too many header fields");
    }
    const std::size_t at = ref(*line).offset;
    fields_.push_back({at, f.name_end, at + f.value_begin, f.value_end - f.value_begin});
    // Trailers are kept but never interpreted: framing is settled before the body.
    return trailer || interpret(line->substr(0, f.name_end), line->substr(f.value_begin, f.value_end - f.value_begin));
  }

  bool interpret(std::string_view name, std::string_view value) {
    const known_field k = classify(name);
    if (k == known_field::other) {
      return true;
    }
    const std::size_t count = ++seen_[static_cast<std::size_t>(k)];
    switch (k) {
      case known_field::content_length:
        // Two lengths, even equal ones, or a list: two parsers could frame the message
        // differently (request smuggling), so refuse rather than pick one.
        if (count > 1) {
          return fail(400, "more than one Content-Length");
        }
        content_length_ = parse_decimal(value);
        return content_length_.has_value() || fail(400, "malformed Content-Length");
      case known_field::transfer_encoding:
        if (count > 1) {
          return fail(400, "more than one Transfer-Encoding");
        }
        chunked_ = iequals_lower(value, "chunked");
        return true;
      case known_field::connection: return read_connection(value);
      default: return true;  // Host and Expect: the owner checks them in on_head_end
    }
  }

  /// `Connection = #connection-option`: a comma list of tokens, empty elements allowed.
  bool read_connection(std::string_view list) {
    while (!list.empty()) {
      const std::size_t comma = list.find(',');
      const std::string_view option = trim_ows(list.substr(0, comma));
      list.remove_prefix(comma == std::string_view::npos ? list.size() : comma + 1);
      if (option.empty()) {
        continue;
      }
      if (skip(option, 0, tchar) != option.size()) {
        return fail(400, "malformed Connection");
      }
      connection_close_ = connection_close_ || iequals_lower(option, "close");
      connection_keep_alive_ = connection_keep_alive_ || iequals_lower(option, "keep-alive");
    }
    return true;
  }

  /// RFC 9112 §6.1 and §6.3: what may frame the body, checked once the whole head is in.
  bool check_framing() {
    if (seen(known_field::transfer_encoding) == 0) {
      return true;
    }
    if (minor_version_ == 0) {
      return fail(400, "Transfer-Encoding in an HTTP/1.0 message");
    }
    if (content_length_) {
      return fail(400, "both Content-Length and Transfer-Encoding");
    }
    return chunked_ || fail(501, "Transfer-Encoding other than chunked");
  }

  /// Picks the framing (RFC 9112 §6.3, in its order) and the phase that reads the body.
  bool begin_body() {
    if (no_body_) {
      framing_ = framing::none;
    } else if (chunked_) {
      framing_ = framing::chunked;
    } else if (content_length_) {
      if (*content_length_ > limits_.max_body_bytes) {
        return fail(413, "Content-Length over the body limit");
      }
      framing_ = framing::length;
    } else {
      framing_ = unframed_;
    }
    head_complete_ = true;
    switch (framing_) {
      case framing::none:
        message_end_ = head_end_;
        phase_ = phase::complete;
        break;
      case framing::length: phase_ = phase::length_body; break;
      case framing::chunked: phase_ = phase::chunk_size; break;
      case framing::close: phase_ = phase::close_body; break;
    }
    return true;
  }

  /// A Content-Length body is left where it is: nothing to do but wait for its last byte.
  bool read_length_body() {
    if (size_ - head_end_ >= *content_length_) {
      body_end_ = message_end_ = head_end_ + static_cast<std::size_t>(*content_length_);
      phase_ = phase::complete;
    }
    return false;
  }

  /// Ends only at close_at_end(); until then, only the limit can end it.
  bool read_close_body() {
    if (size_ - head_end_ > limits_.max_body_bytes) {
      return fail(413, "body over the body limit");
    }
    return false;
  }

  bool read_chunk_size() {
    // The size's digits and CRLF are free; only the extensions are charged to the head budget.
    const std::size_t budget = limits_.max_head_bytes - head_used_;
    const std::size_t window = saturating_add(pos_ + max_chunk_digits + 2, budget);
    const auto line = next_line(window);
    if (!line) {
      if (phase_ != phase::failed && size_ >= window) {
        return fail(overlong_chunk_line(std::string_view(data_ + pos_, window - pos_)));
      }
      return false;
    }
    const chunk_line c = parse_chunk_line(*line);
    if (c.error.status != 0) {
      return fail(c.error);
    }
    if (c.extension_bytes > budget) {
      return fail(431, "chunk extensions too long");
    }
    head_used_ += c.extension_bytes;
    if (c.size == 0) {
      phase_ = phase::trailers;
      return true;
    }
    if (c.size > limits_.max_body_bytes - (body_end_ - head_end_)) {
      return fail(413, "chunked body over the body limit");
    }
    chunk_left_ = c.size;
    phase_ = phase::chunk_data;
    return true;
  }

  /// Moves what has arrived of the chunk's data down to the end of the body so far.
  bool read_chunk_data() {
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(chunk_left_, size_ - pos_));
    if (n == 0) {
      return false;
    }
    if (body_end_ != pos_) {
      std::memmove(data_ + body_end_, data_ + pos_, n);
    }
    body_end_ += n;
    advance(pos_ + n);
    chunk_left_ -= n;
    if (chunk_left_ == 0) {
      phase_ = phase::chunk_crlf;
    }
    return true;
  }

  /// Exactly CRLF after chunk data: anything else means the size lied (or two parsers disagree).
  bool read_chunk_crlf() {
    const std::size_t have = size_ - pos_;
    if ((have >= 1 && data_[pos_] != '\r') || (have >= 2 && data_[pos_ + 1] != '\n')) {
      return fail(400, "chunk data not followed by CRLF");
    }
    if (have < 2) {
      return false;
    }
    advance(pos_ + 2);
    phase_ = phase::chunk_size;
    return true;
  }

  [[nodiscard]] http::header_field field(std::size_t i) const noexcept {
    const field_ref& f = fields_[i];
    return {view({f.name, f.name_size}), view({f.value, f.value_size})};
  }

  [[nodiscard]] std::optional<std::string_view> find(std::string_view name, std::size_t first,
                                                     std::size_t last) const noexcept {
    for (std::size_t i = first; i < last; ++i) {
      const http::header_field f = field(i);
      if (iequals(f.name, name)) {
        return f.value;
      }
    }
    return std::nullopt;
  }

  http::parser_limits limits_;
  framing unframed_;  // the framing of a message with neither Content-Length nor Transfer-Encoding
  std::vector<field_ref> fields_;  // header fields, then trailer fields

  // The buffer of the last call; used by the accessors, never to resume scanning.
  char* data_ = nullptr;
  std::size_t size_ = 0;

  phase phase_ = phase::start_line;
  framing framing_ = framing::none;
  std::size_t pos_ = 0;        // the first byte not consumed yet
  std::size_t scan_ = 0;       // where the search for the current line's LF resumes
  std::size_t head_used_ = 0;  // head, chunk extension and trailer bytes so far
  std::size_t head_end_ = 0;   // the body starts here
  std::size_t head_fields_ = 0;
  std::size_t body_end_ = 0;  // also where de-chunked data is written next
  std::size_t message_end_ = 0;
  std::uint64_t chunk_left_ = 0;
  std::optional<std::uint64_t> content_length_;
  std::array<std::size_t, static_cast<std::size_t>(known_field::other)> seen_{};
  int minor_version_ = 1;
  bool chunked_ = false;
  bool head_complete_ = false;
  bool connection_close_ = false;
  bool connection_keep_alive_ = false;
  bool no_body_ = false;
  http::parse_error error_;
};

}  // namespace statefun::inline v0::detail::http1
