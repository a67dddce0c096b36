#include "tao/net/static_site.hpp"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <system_error>

#include "tao/protocol/error.hpp"

namespace tao::net {

using protocol::errc;

namespace fs = std::filesystem;

std::string content_type_for(std::string_view name) {
  struct entry {
    std::string_view ext;
    std::string_view type;
  };
  static constexpr entry types[] = {
    {".html", "text/html; charset=utf-8"},
    {".htm", "text/html; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".json", "application/json"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".txt", "text/plain; charset=utf-8"},
  };
  for (const auto& e : types)
    if (name.size() >= e.ext.size() && name.substr(name.size() - e.ext.size()) == e.ext)
      return std::string{e.type};
  return "application/octet-stream";
}

static_site::static_site(std::map<std::string, file> files) {
  for (auto& [path, f] : files)
    files_.emplace(path, std::move(f));
}

caf::expected<std::shared_ptr<const static_site>> static_site::load(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    return protocol::make_error(errc::invalid_argument, "web root " + dir + " is not a directory");
  std::map<std::string, file> files;
  size_t total = 0;
  auto root = fs::path{dir};
  fs::recursive_directory_iterator it{root, ec};
  if (ec)
    return protocol::make_error(errc::invalid_argument,
                                "cannot read web root " + dir + ": " + ec.message());
  for (; it != fs::recursive_directory_iterator{}; it.increment(ec)) {
    if (ec)
      return protocol::make_error(errc::invalid_argument,
                                  "cannot read web root " + dir + ": " + ec.message());
    auto name = it->path().filename().string();
    if (!name.empty() && name[0] == '.') {
      if (it->is_directory(ec))
        it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file(ec))
      continue;
    if (files.size() == max_files)
      return protocol::make_error(errc::invalid_argument, "web root " + dir + " holds more than "
                                                            + std::to_string(max_files) + " files");
    std::ifstream in{it->path(), std::ios::binary};
    std::string body{std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
    if (!in.good() && !in.eof())
      return protocol::make_error(errc::invalid_argument, "cannot read " + it->path().string());
    total += body.size();
    if (total > max_bytes)
      return protocol::make_error(errc::invalid_argument, "web root " + dir + " holds more than "
                                                            + std::to_string(max_bytes) + " bytes");
    auto rel = "/" + it->path().lexically_relative(root).generic_string();
    files.emplace(rel, file{content_type_for(name), std::move(body)});
  }
  return std::make_shared<const static_site>(std::move(files));
}

const static_site::file* static_site::find(std::string_view target) const {
  auto query = target.find_first_of("?#");
  if (query != std::string_view::npos)
    target = target.substr(0, query);
  if (target.empty() || target.back() == '/') {
    auto index = std::string{target} + "index.html";
    if (index[0] != '/')
      index.insert(0, 1, '/');
    auto i = files_.find(index);
    return i != files_.end() ? &i->second : nullptr;
  }
  auto i = files_.find(target);
  return i != files_.end() ? &i->second : nullptr;
}

} // namespace tao::net
