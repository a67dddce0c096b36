#pragma once

#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>

namespace tao::net {

/// What a completed TLS handshake established, as a connection's handlers
/// see it (e.g. to authorise a mutually authenticated peer).
struct tls_session {
  /// The negotiated protocol, e.g. "TLSv1.3".
  std::string protocol;
  /// The negotiated cipher suite, e.g. "TLS_AES_256_GCM_SHA384".
  std::string cipher;
  /// The subject of the peer's certificate in RFC 2253 form
  /// ("CN=client,O=tao"); empty if the peer sent none (a server's clients
  /// usually do not, unless client certificates are required).
  std::string peer_subject;
  /// The DNS names and IP addresses of the peer certificate's subject
  /// alternative names, in certificate order.
  std::vector<std::string> peer_names;
};

/// CAF inspection for `tls_session`.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, tls_session& x) {
  return f(caf::meta::type_name("tao.tls_session"), x.protocol, x.cipher, x.peer_subject,
           x.peer_names);
}

} // namespace tao::net
