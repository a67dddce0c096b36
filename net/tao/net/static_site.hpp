#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include <caf/expected.hpp>

namespace tao::net {

/// Files served over plain HTTP on a WebSocket port (the browser page),
/// read into memory once. Immutable after `load`: share it freely between
/// threads.
class static_site {
public:
  /// One file.
  struct file {
    /// MIME type from the file name's extension, e.g. "text/html; charset=utf-8".
    std::string content_type;
    /// The whole file.
    std::string body;
  };

  /// Most files loaded.
  static constexpr size_t max_files = 256;

  /// Most bytes loaded in all.
  static constexpr size_t max_bytes = 16u << 20;

  /// Reads every regular file under `dir` (subdirectories included, hidden
  /// entries skipped). Fails with `errc::invalid_argument` if `dir` is not a
  /// readable directory or holds more than the limits above.
  static caf::expected<std::shared_ptr<const static_site>> load(const std::string& dir);

  /// A site from `files` (request path -> file), for tests.
  explicit static_site(std::map<std::string, file> files);

  /// The file for a request target ("/" and paths ending in "/" mean their
  /// `index.html`; a query string is ignored), or null.
  const file* find(std::string_view target) const;

  /// Number of files.
  size_t size() const noexcept {
    return files_.size();
  }

private:
  std::map<std::string, file, std::less<>> files_;
};

/// The MIME type served for a file name (by extension; unknown ones are
/// "application/octet-stream").
std::string content_type_for(std::string_view name);

} // namespace tao::net
