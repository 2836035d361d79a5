// Asio's and Beast's compiled parts, built once here instead of inline in every file that includes
// net.h (BOOST_ASIO_SEPARATE_COMPILATION and BOOST_BEAST_SEPARATE_COMPILATION, set on ref_common).
// clang-format off
#include <utility>
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
// clang-format on
