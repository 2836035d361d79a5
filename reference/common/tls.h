// TLS contexts of the reference target (OpenSSL through Boost.Asio): the exchange serves with a
// certificate and key from files, the engine verifies the exchange by a CA file (or the system's
// store) and the URL's host name, as an engine meets a real exchange. No MITM, no "insecure".
#pragma once

#include <memory>
#include <string>

#include "net.h"

namespace refcommon {

// Server side: TLS 1.2 and 1.3, the certificate chain and key in PEM. Throws
// boost::system::system_error naming the file on failure.
std::unique_ptr<refnet::ssl::context> server_tls_context(const std::string& cert_chain_pem,
                                                         const std::string& key_pem);

// Client side: peers are verified against ca_pem (PEM file), or the system's default store when
// it is empty. Only HTTP/1.1 is offered (ALPN), as the engine speaks it.
std::unique_ptr<refnet::ssl::context> client_tls_context(const std::string& ca_pem);

// Before the handshake on a client stream: SNI and host-name verification for `host`.
void prepare_client_stream(refnet::TlsStream& stream, const std::string& host);

}  // namespace refcommon
