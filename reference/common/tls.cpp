#include "tls.h"

#include <openssl/ssl.h>

namespace refcommon {
using namespace refnet;

namespace {

// ALPN wire format: length-prefixed protocol names.
constexpr unsigned char kAlpnHttp11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};

void throw_ssl(const char* what, const std::string& file) {
  throw boost::system::system_error(
      error_code(static_cast<int>(::ERR_get_error()), asio::error::get_ssl_category()),
      std::string(what) + " " + file);
}

}  // namespace

std::unique_ptr<ssl::context> server_tls_context(const std::string& cert_chain_pem,
                                                 const std::string& key_pem) {
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_server);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  if (::SSL_CTX_use_certificate_chain_file(ctx->native_handle(), cert_chain_pem.c_str()) != 1)
    throw_ssl("certificate chain", cert_chain_pem);
  if (::SSL_CTX_use_PrivateKey_file(ctx->native_handle(), key_pem.c_str(), SSL_FILETYPE_PEM) != 1)
    throw_ssl("private key", key_pem);
  return ctx;
}

std::unique_ptr<ssl::context> client_tls_context(const std::string& ca_pem) {
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  ctx->set_verify_mode(ssl::verify_peer);
  if (ca_pem.empty()) {
    ctx->set_default_verify_paths();
  } else if (::SSL_CTX_load_verify_locations(ctx->native_handle(), ca_pem.c_str(), nullptr) != 1) {
    throw_ssl("CA file", ca_pem);
  }
  ::SSL_CTX_set_alpn_protos(ctx->native_handle(), kAlpnHttp11, sizeof(kAlpnHttp11));
  return ctx;
}

void prepare_client_stream(TlsStream& stream, const std::string& host) {
  // SNI (not for address literals), and the certificate must name the host we asked for.
  error_code ec;
  asio::ip::make_address(host, ec);
  if (ec) ::SSL_set_tlsext_host_name(stream.native_handle(), host.c_str());
  stream.set_verify_callback(ssl::host_name_verification(host));
}

}  // namespace refcommon
