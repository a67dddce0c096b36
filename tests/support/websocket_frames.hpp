#pragma once

// Raw WebSocket frames for tests: a builder that can break every rule on
// purpose (unmasked, reserved bits, bad lengths) and a parser for what a
// channel sends. Independent of wslay, so the tests check tao against the
// RFC's byte layout rather than against the library it uses.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace tao::test {

/// One frame to build.
struct ws_frame_spec {
  uint8_t opcode = 2;
  std::string payload;
  bool fin = true;
  bool masked = true;
  uint8_t rsv = 0;
  uint32_t mask_key = 0x37fa213d;
  /// Force the 16- or 64-bit length form for a short payload (a
  /// non-minimal encoding), or 0 for the minimal form.
  int length_form = 0;
};

/// The bytes of one frame.
inline std::string ws_frame(const ws_frame_spec& f) {
  std::string out;
  out.push_back(static_cast<char>((f.fin ? 0x80 : 0) | ((f.rsv & 7) << 4) | (f.opcode & 0x0f)));
  auto n = f.payload.size();
  uint8_t mask_bit = f.masked ? 0x80 : 0;
  if ((n < 126 && f.length_form == 0) || f.length_form == 7) {
    out.push_back(static_cast<char>(mask_bit | n));
  } else if ((n < 65536 && f.length_form == 0) || f.length_form == 16) {
    out.push_back(static_cast<char>(mask_bit | 126));
    out.push_back(static_cast<char>(n >> 8));
    out.push_back(static_cast<char>(n & 0xff));
  } else {
    out.push_back(static_cast<char>(mask_bit | 127));
    for (int i = 7; i >= 0; --i)
      out.push_back(static_cast<char>((static_cast<uint64_t>(n) >> (8 * i)) & 0xff));
  }
  if (f.masked) {
    char key[4] = {static_cast<char>(f.mask_key >> 24), static_cast<char>(f.mask_key >> 16),
                   static_cast<char>(f.mask_key >> 8), static_cast<char>(f.mask_key)};
    out.append(key, 4);
    for (size_t i = 0; i < n; ++i)
      out.push_back(static_cast<char>(f.payload[i] ^ key[i % 4]));
  } else {
    out += f.payload;
  }
  return out;
}

/// A masked (client) frame.
inline std::string client_frame(uint8_t opcode, std::string payload, bool fin = true) {
  ws_frame_spec f;
  f.opcode = opcode;
  f.payload = std::move(payload);
  f.fin = fin;
  return ws_frame(f);
}

/// An unmasked (server) frame.
inline std::string server_frame(uint8_t opcode, std::string payload, bool fin = true) {
  ws_frame_spec f;
  f.opcode = opcode;
  f.payload = std::move(payload);
  f.fin = fin;
  f.masked = false;
  return ws_frame(f);
}

/// A binary message payload carrying a Tao frame: int32 LE type, payload.
inline std::string tao_message(int32_t type, const std::string& payload) {
  auto t = static_cast<uint32_t>(type);
  std::string out{static_cast<char>(t & 0xff), static_cast<char>((t >> 8) & 0xff),
                  static_cast<char>((t >> 16) & 0xff), static_cast<char>(t >> 24)};
  return out + payload;
}

/// A close payload: status code (big-endian) and reason.
inline std::string close_payload(uint16_t code, const std::string& reason = {}) {
  std::string out{static_cast<char>(code >> 8), static_cast<char>(code & 0xff)};
  return out + reason;
}

/// One parsed frame.
struct ws_parsed {
  bool fin = false;
  uint8_t opcode = 0;
  bool masked = false;
  std::string payload;

  /// The status code of a close frame (0 without one).
  uint16_t close_code() const {
    if (payload.size() < 2)
      return 0;
    return static_cast<uint16_t>((static_cast<uint8_t>(payload[0]) << 8)
                                 | static_cast<uint8_t>(payload[1]));
  }
};

/// Parses every complete frame at the start of `bytes` (unmasking); stops at
/// the first incomplete one and sets `rest` to its offset.
inline std::vector<ws_parsed> parse_frames(const std::string& bytes, size_t* rest = nullptr) {
  std::vector<ws_parsed> out;
  size_t pos = 0;
  auto byte = [&](size_t i) {
    return static_cast<uint8_t>(bytes[i]);
  };
  for (;;) {
    if (bytes.size() - pos < 2)
      break;
    ws_parsed f;
    f.fin = (byte(pos) & 0x80) != 0;
    f.opcode = byte(pos) & 0x0f;
    f.masked = (byte(pos + 1) & 0x80) != 0;
    uint64_t n = byte(pos + 1) & 0x7f;
    size_t head = 2;
    if (n == 126) {
      if (bytes.size() - pos < 4)
        break;
      n = (uint64_t{byte(pos + 2)} << 8) | byte(pos + 3);
      head = 4;
    } else if (n == 127) {
      if (bytes.size() - pos < 10)
        break;
      n = 0;
      for (size_t i = 0; i < 8; ++i)
        n = (n << 8) | byte(pos + 2 + i);
      head = 10;
    }
    size_t key_at = pos + head;
    if (f.masked)
      head += 4;
    if (bytes.size() - pos < head + n)
      break;
    f.payload = bytes.substr(pos + head, n);
    if (f.masked)
      for (size_t i = 0; i < n; ++i)
        f.payload[i] = static_cast<char>(f.payload[i] ^ bytes[key_at + i % 4]);
    out.push_back(std::move(f));
    pos += head + n;
  }
  if (rest != nullptr)
    *rest = pos;
  return out;
}

/// The RFC 6455 (1.3) sample upgrade request, with extra header lines.
inline std::string rfc_request(const std::string& extra = {}) {
  return "GET /chat HTTP/1.1\r\n"
         "Host: server.example.com\r\n"
         "Upgrade: websocket\r\n"
         "Connection: Upgrade\r\n"
         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
         "Sec-WebSocket-Version: 13\r\n"
         + extra + "\r\n";
}

} // namespace tao::test
